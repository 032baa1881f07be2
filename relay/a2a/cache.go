package a2a

import "sync"

// dialectCache remembers, per agent, the route and the dialect that worked,
// so later runs skip discovery and the step-down ladder. It lives in this
// process only: relearning it after a restart costs one card fetch.
type dialectCache struct {
	mu sync.Mutex
	m  map[string]route
}

// cacheKey includes the endpoint so that editing an agent's endpoint
// forgets what was learned about the old one.
func cacheKey(a Agent) string { return a.ID + "\x00" + a.Endpoint }

func (c *dialectCache) get(a Agent) (route, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[cacheKey(a)]
	return r, ok
}

func (c *dialectCache) put(a Agent, r route, d Dialect) {
	r.start = d
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]route{}
	}
	c.m[cacheKey(a)] = r
}

func (c *dialectCache) forget(a Agent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, cacheKey(a))
}
