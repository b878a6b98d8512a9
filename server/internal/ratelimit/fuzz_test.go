package ratelimit

import (
	"testing"
	"time"
)

// FuzzLimiter drives a limiter with a byte-coded sequence of requests and
// checks every decision and every retryAfter against the reference model.
// data[0] picks the limit (1-6), data[1] the key cap (1-8, so one shard and
// a cap that binds), then each pair is (key 0-11, delay in 1/32 windows).
func FuzzLimiter(f *testing.F) {
	f.Add([]byte{4, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 33, 0, 0})
	f.Add([]byte{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5})
	f.Add([]byte{2, 1, 0, 0, 1, 0, 0, 16, 1, 16, 0, 16, 1, 17})
	f.Add([]byte{5, 3, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6})
	f.Add([]byte{1, 8, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0, 0, 32, 9, 255})
	const window = 32 * time.Millisecond
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		l, err := New(Options{Limit: 1 + int(data[0])%6, Window: window, MaxKeys: 1 + int(data[1])%8})
		if err != nil {
			t.Fatal(err)
		}
		m := newModel(l)
		now := l.epoch
		for i := 2; i+1 < len(data); i += 2 {
			k := keyN(int(data[i]) % 12)
			now = now.Add(time.Duration(data[i+1]) * window / 32)
			tm := int64(now.Sub(l.epoch))
			ok, retry := l.Allow(k, now)
			wantOK, wantRetry := m.allow(k, tm)
			if ok != wantOK || retry != wantRetry {
				t.Fatalf("request %d (key %v at %v): limiter %v %v, model %v %v",
					i/2-1, k, time.Duration(tm), ok, retry, wantOK, wantRetry)
			}
			if n := l.Len(); n > l.maxKeys {
				t.Fatalf("tracking %d keys, cap %d", n, l.maxKeys)
			}
		}
	})
}
