package server

// RawAccept lets the external tests run the portable accept path on Linux.
var RawAccept = &rawAccept
