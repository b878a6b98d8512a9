//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// serial is the least any server can do per connection, the yardstick for
// what a refusal can cost against a served request: the classic
// one-at-a-time server written with blocking system calls on a blocking
// socket. No poller, no goroutine per connection, no deadlines: accept4,
// read until the head ends, send, close, and the next accept4. Nothing
// waits on anything but the kernel, so no wake-up is paid twice.
//
// -mode serve answers every request with one response prepared at start (as
// bare does). -mode refuse answers every connection the way this server
// refuses one at its caps: the 503 at once, held with MSG_MORE so that it
// leaves with the FIN, then the request head read so that the close cannot
// send a reset that eats the 503, then the close. -mode close accepts and
// closes unanswered (as bare -close). The ratios refuse/serve and
// close/serve say how far below a served request any refusal that keeps
// this server's promises can go on the machine (docs/performance.md).
func serial(args []string) error {
	fs := flag.NewFlagSet("serial", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "listen `address` (IPv4)")
	mode := fs.String("mode", "serve", "serve, refuse or close")
	file := fs.String("file", "", "the `file` every request is answered with (-mode serve)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var resp []byte
	flags := 0
	switch *mode {
	case "serve":
		body, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		resp = fixedResponse("200 OK", "serial", "text/html; charset=utf-8", "", body)
	case "refuse":
		resp = fixedResponse("503 Service Unavailable", "serial", "text/plain; charset=utf-8", "Retry-After: 1\r\n",
			[]byte("too many connections\n"))
		flags = syscall.MSG_MORE
	case "close":
	default:
		return fmt.Errorf("-mode %q: want serve, refuse or close", *mode)
	}
	lfd, err := listenBlocking(*addr)
	if err != nil {
		return err
	}
	// SIGTERM shuts the listening socket down, which ends a blocked accept4
	// with EINVAL on Linux.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(stop)
	stopped := make(chan struct{})
	go func() {
		if _, ok := <-stop; ok {
			close(stopped)
			_ = syscall.Shutdown(lfd, syscall.SHUT_RDWR)
		}
	}()
	defer syscall.Close(lfd)
	buf := make([]byte, 4096)
	for {
		fd, _, err := syscall.Accept4(lfd, syscall.SOCK_CLOEXEC)
		if err != nil {
			select {
			case <-stopped:
				return nil
			default:
			}
			if err == syscall.EINTR || err == syscall.ECONNABORTED {
				continue
			}
			if err == syscall.EMFILE || err == syscall.ENFILE {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept4: %w", err)
		}
		switch *mode {
		case "serve":
			if readHead(fdReader(fd), buf) {
				sendAll(fd, resp, 0)
			}
		case "refuse":
			sendAll(fd, resp, flags)
			readHead(fdReader(fd), buf)
		}
		_ = syscall.Close(fd)
	}
}

// listenBlocking opens a blocking IPv4 listening socket on addr.
func listenBlocking(addr string) (int, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return -1, err
	}
	ip4 := ta.IP.To4()
	if ip4 == nil {
		return -1, fmt.Errorf("%s: serial listens on IPv4 only", addr)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	sa := &syscall.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ip4)
	if err = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err == nil {
		if err = syscall.Bind(fd, sa); err == nil {
			err = syscall.Listen(fd, 4096)
		}
	}
	if err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("listen %s: %w", addr, err)
	}
	return fd, nil
}

// fdReader reads a blocking socket for readHead: EOF as io.EOF, a read a
// signal interrupted tried again.
type fdReader int

func (fd fdReader) Read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), b)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// sendAll sends b on a blocking socket. The suite's responses (the small
// file, the 503) fit the socket's buffer, so a blocking send takes each whole
// or fails; a client that has gone is not an error here.
func sendAll(fd int, b []byte, flags int) {
	for {
		_, err := syscall.SendmsgN(fd, b, nil, nil, flags|syscall.MSG_NOSIGNAL)
		if !errors.Is(err, syscall.EINTR) {
			return
		}
	}
}
