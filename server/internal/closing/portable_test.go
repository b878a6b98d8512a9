package closing

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// A connection without a descriptor (net.Pipe) takes the portable path:
// WriteNow writes under a deadline and says whether all of it went.
func TestWriteNowWithoutDescriptor(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	if !WriteNow(server, []byte(reply)) {
		t.Fatal("WriteNow over a pipe with a reader did not write")
	}
	_ = server.Close()
	select {
	case b := <-got:
		if string(b) != reply {
			t.Fatalf("read %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reader never finished")
	}
	if WriteNow(server, []byte(reply)) {
		t.Fatal("WriteNow claims a write to a closed pipe went")
	}
}

// Without a descriptor nothing can be peeked at without waiting:
// PendingInput assumes input, and Drain still closes.
func TestNoDescriptorTakesTheSafeSide(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() { _, _ = io.WriteString(client, "GET / HTTP/1.0\r\n\r\n") }()
	if !PendingInput(server) {
		t.Fatal("PendingInput over a pipe says no input can be pending")
	}
	Drain(server)
	if _, err := server.Write([]byte("x")); err == nil {
		t.Fatal("Drain left the pipe open")
	}
}

// A connection already closed has no descriptor to use: WriteNow says
// nothing went and PendingInput that nothing is pending.
func TestClosedConnection(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("the descriptor paths need unix sockets")
	}
	client, server := pair(t)
	_, _ = io.WriteString(client, "GET / HTTP/1.0\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	_ = server.Close()
	if WriteNow(server, []byte(reply)) {
		t.Fatal("WriteNow claims a write on a closed connection went")
	}
	if PendingInput(server) {
		t.Fatal("PendingInput on a closed connection says input is pending")
	}
}
