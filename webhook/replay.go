package webhook

import "sync"

// replayCache remembers accepted deliveries until their timestamp leaves
// the tolerance window, holding at most size entries. Only deliveries with
// a valid signature are added, so forged traffic cannot fill it.
type replayCache struct {
	mu      sync.Mutex
	size    int
	expires map[string]int64 // key -> Unix second after which it is stale
}

func newReplayCache(size int) *replayCache {
	return &replayCache{size: size, expires: make(map[string]int64)}
}

// add records key, valid until Unix second expiry, and reports whether it
// was new. An entry already present and not yet expired makes it a replay.
func (c *replayCache) add(key string, expiry, now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.expires[key]; ok && exp >= now {
		return false
	}
	if len(c.expires) >= c.size {
		c.evictLocked(now)
	}
	c.expires[key] = expiry
	return true
}

// forget removes key, so that the same delivery is accepted again (used
// when handling an accepted delivery failed and the sender will retry).
func (c *replayCache) forget(key string) {
	c.mu.Lock()
	delete(c.expires, key)
	c.mu.Unlock()
}

// evictLocked drops expired entries and, if none had expired, the entry
// closest to expiry. It runs only when the cache is full, so its linear
// scan is paid only under sustained valid traffic beyond the cache size.
func (c *replayCache) evictLocked(now int64) {
	var oldest string
	var oldestExp int64
	first := true
	for k, exp := range c.expires {
		if exp < now {
			delete(c.expires, k)
			continue
		}
		if first || exp < oldestExp {
			oldest, oldestExp, first = k, exp, false
		}
	}
	if len(c.expires) >= c.size && !first {
		delete(c.expires, oldest)
	}
}
