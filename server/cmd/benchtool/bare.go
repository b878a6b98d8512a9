//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// bare is the ceiling the server is measured against: the least a correct
// Go server can do per connection. It answers every request with one
// response prepared at start (head and body in one slice, Date frozen),
// reads the request head first so that closing cannot send a reset that
// eats the response, and keeps Go's usual goroutine per connection. No
// parsing, no file system, no limits, no logging.
//
// With -close it answers nothing: it accepts and closes at once, without
// reading. That is the floor under any answer, the kernel's and Go's work
// for one TCP connection (handshake, close, the reset the unread request
// draws); the refusal part sets a refusal's cost against it.
func bare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen `address`")
	file := fs.String("file", "", "the `file` every request is answered with")
	ctype := fs.String("type", "text/html; charset=utf-8", "Content-Type")
	closeOnly := fs.Bool("close", false, "accept and close at once: no read, no answer (-file is not read)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var body []byte
	if !*closeOnly {
		var err error
		if body, err = os.ReadFile(*file); err != nil {
			return err
		}
	}
	resp := fixedResponse("200 OK", "bare", *ctype, "", body)

	// Without TCP keep-alive probes, as the server's listener (server.Listen):
	// Go's default costs four setsockopt calls per accepted connection.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", *addr)
	if err != nil {
		return err
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ln.Close()
	}()
	bufs := sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) || errors.Is(err, syscall.EMFILE) {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		if *closeOnly {
			_ = c.Close()
			continue
		}
		go func() {
			bp := bufs.Get().(*[]byte)
			if readHead(c, *bp) {
				_, _ = c.Write(resp)
			}
			_ = c.Close()
			bufs.Put(bp)
		}()
	}
}

// fixedResponse is a whole HTTP/1.0 response prepared once, Date frozen at
// start; extra is more header lines, each ending in CRLF.
func fixedResponse(status, server, ctype, extra string, body []byte) []byte {
	head := "HTTP/1.0 " + status + "\r\nDate: " + time.Now().UTC().Format(http.TimeFormat) +
		"\r\nServer: " + server + "\r\nContent-Type: " + ctype + "\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n" + extra + "Connection: close\r\n\r\n"
	return append([]byte(head), body...)
}

// readHead reads until the blank line that ends a request head; false if the
// client left or sent more than buf holds first.
func readHead(c io.Reader, buf []byte) bool {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if bytes.Contains(buf[max(0, n-m-3):n], []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}
