// Package ratelimit is an exact sliding-window rate limiter per client: a
// request from key k at time now is admitted iff fewer than Limit requests
// from k were admitted in the window (now-Window, now]. Refused requests are
// not counted, so a client that keeps knocking while throttled is let in as
// soon as its own admitted traffic allows (nginx-tests limit_req.t: "rejects
// not counted").
//
// # Why a ring
//
// The window is half-open at its old end: an admission made exactly Window
// ago no longer counts. So "fewer than Limit in the window" is the same as
// "the Limit-th most recent admission is at or before now-Window", and only
// the last Limit admission times of a key are ever needed. They are kept in
// a ring per key: O(1) per request, O(Limit) memory per key, and exact.
// Sliding-window counters (two fixed buckets and a weighted sum, as httprate
// and HAProxy do) use less memory but admit up to 2*Limit in a trailing
// window that straddles a bucket boundary; that is the bug this lab is about,
// so they are not used.
//
// # Memory and why it fails closed
//
// At most MaxKeys keys are tracked. A key is dropped only once it is fully
// replenished (its newest admission is Window old), because only then is its
// state identical to a key never seen; dropping a throttled or partly-filled
// key to make room would hand that client a fresh allowance, and a flood of
// new source addresses would become a way to reset one's own limit (nginx
// likewise frees limit_req state only when idle and without excess). Each
// shard keeps its keys in a list ordered by newest admission, so the key
// that replenishes first is always at the front: eviction is an O(1) check,
// done opportunistically on every call (up to two keys per call, which keeps
// pace with at most one key created per call) and by Sweep.
//
// When a shard is full and its front key is not yet replenished, no key in
// it is, and a request from a NEW key is refused (fail closed) with
// retryAfter = the time until that front key replenishes, when a slot will
// free. Failing open instead would stop limiting precisely when the server
// is under the widest attack. Known clients keep being served normally.
//
// # Concurrency
//
// Keys are spread over up to 64 shards by a seeded hash, each with its own
// mutex, list and slot slab, so requests from different clients rarely
// contend, and Allow does not allocate for a key it already tracks (slots of
// evicted keys are reused with their rings). MaxKeys is divided among the
// shards (each gets at least 256 keys, so small tables use fewer shards); a
// new key can therefore be refused while its shard is full even if another
// shard has room. With the default 100 000 keys over 64 shards of ~1 562,
// the first such refusal came after 91-95 % of MaxKeys in a flood of
// distinct keys (measured); the bound "at most MaxKeys" is exact.
//
// Times are nanoseconds since the Limiter's creation (now.Sub(epoch), on the
// monotonic clock when now carries a monotonic reading, as time.Now does).
// Within a shard they are clamped to be non-decreasing: a caller whose now is
// older than one the shard has already seen (it read the clock, then waited
// for the lock behind a later caller) is treated as arriving at that later
// time, which is when its request is in fact decided. This keeps every ring
// and every list sorted, which the O(1) checks above rely on; the shift is
// the caller's wait for the shard lock.
package ratelimit
