package server

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/static"
)

// serveStock is the baseline: Go's own net/http file server over the same
// os.Root, with no caps and no rate limit. It keeps the simulated delay, so
// that a comparison of modes measures the serving model and nothing else,
// and it still counts connections, statuses and hits for /stats.
func (s *Server) serveStock(ctx context.Context, ln net.Listener) error {
	files := http.FileServerFS(s.site.Root().FS())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		if !static.ServablePath(r.URL.Path) {
			// net/http serves dotfiles (golang/go#20759); the lab's promise
			// that hidden files stay hidden holds in every mode.
			http.NotFound(rec, r)
		} else {
			if s.o.Delay > 0 {
				t := time.NewTimer(s.o.Delay)
				select {
				case <-t.C:
				case <-s.hardStop:
					t.Stop()
				}
			}
			files.ServeHTTP(rec, r)
		}
		s.tally.Record(rec.status)
		if rec.status == http.StatusOK {
			s.hits.Inc(static.HitKey(r.URL.Path))
		}
		s.log.Info().Str("remote", r.RemoteAddr).Str("method", r.Method).Str("path", r.URL.EscapedPath()).
			Int("status", rec.status).Int64("bytes", rec.bytes).Msg("request")
	})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.o.ReadTimeout,
		WriteTimeout:      s.o.WriteTimeout + s.o.Delay,
		ErrorLog:          log.New(s.log.With().Str("component", "net/http").Logger(), "", 0),
		ConnState: func(c net.Conn, st http.ConnState) {
			key, _ := clientid.OfAddr(s.o.ClientKey, c.RemoteAddr())
			switch st {
			case http.StateNew:
				s.admit.Admit(key)
				s.report(c, StateAdmitted)
			case http.StateClosed, http.StateHijacked:
				s.admit.Release(key)
				s.report(c, StateClosed)
			}
		},
	}
	// One request per connection, like the other modes.
	srv.SetKeepAlivesEnabled(false)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		close(s.hardStop)
		s.log.Warn().Err(err).Msg("shutdown grace over; closing connections still in flight")
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile path for large files.
func (r *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.wroteHeader = true
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{r.ResponseWriter}, src)
	}
	r.bytes += n
	return n, err
}
