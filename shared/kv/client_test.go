package kv_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// After a master dies and its replica is promoted, the dead master answers
// no MOVED: only a reread of the slot map sends commands to the new one.
// With the periodic reread an hour away, the test sees the reread that a
// refused dial starts. (Before it, the relay kept dialling a dead master
// for up to ClusterStateReload after a failover.)
func TestClusterClientFollowsAFailoverOnARefusedDial(t *testing.T) {
	rc := testenv.StartRedisCluster(t)
	opt, err := redis.ParseClusterURL(rc.URL)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = 1
	c := kv.OpenCluster(opt, time.Hour)
	defer c.Close()
	ctx := context.Background()
	const key = "failover:{k}"
	if err := c.Set(ctx, key, "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	victim := rc.MasterOf(t, key)
	rc.Kill(t, victim)
	rc.WaitFailover(t, victim)

	tries, deadline := 0, time.Now().Add(20*time.Second)
	for {
		tries++
		err := c.Set(ctx, key, "after", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes to the failed master's slot still fail 20 s after the failover (%d tries): %v", tries, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := rc.MasterOf(t, key); got == victim {
		t.Fatalf("the cluster still names %s the master", victim)
	}
	v, err := c.Get(ctx, key).Result()
	if err != nil || v != "after" {
		t.Fatalf("read %q, %v after the failover", v, err)
	}
	t.Logf("the client wrote to the promoted replica on try %d after the cluster failed over", tries)
}
