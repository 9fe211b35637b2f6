package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fraudguard/fraudguard/internal/redistest"
)

func mustRedis(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisGCRA(t *testing.T) {
	srv := redistest.Start(t)
	l := NewRedis(mustRedis(t, srv.Addr()), "test:")
	ctx := context.Background()
	lim := Limit{PerMinute: 60, Burst: 5}
	for i := 0; i < 5; i++ {
		d, err := l.Allow(ctx, "k", lim)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Remaining != 4-i || d.Limit != 5 {
			t.Fatalf("request %d: got %+v, want allowed with %d remaining", i+1, d, 4-i)
		}
	}
	d, err := l.Allow(ctx, "k", lim)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Second || d.Reset < 4*time.Second || d.Reset > 5*time.Second {
		t.Errorf("6th request: got %+v, want refused, retry within 1s, reset about 5s", d)
	}
	// Another key has its own bucket; no limit allows all.
	if d, _ := l.Allow(ctx, "other", lim); !d.Allowed {
		t.Errorf("other key: got %+v, want allowed", d)
	}
	if d, _ := l.Allow(ctx, "k", Limit{}); !d.Allowed {
		t.Errorf("no limit: got %+v, want allowed", d)
	}
}

// Instances with their own connections share one bucket per key: between them they allow
// what one allows.
func TestRedisSharedAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	instances := []*Redis{
		NewRedis(mustRedis(t, srv.Addr()), "fg:"),
		NewRedis(mustRedis(t, srv.Addr()), "fg:"),
		NewRedis(mustRedis(t, srv.Addr()), "fg:"),
	}
	lim := Limit{PerMinute: 30, Burst: 30}
	allowed := 0
	for i := 0; i < 90; i++ {
		d, err := instances[i%3].Allow(context.Background(), "client", lim)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 30 {
		t.Errorf("allowed by three instances: got %d, want 30 (one bucket)", allowed)
	}
}

// passGate lets every call through.
type passGate struct{}

func (passGate) Do(fn func() error) error { return fn() }

// With Redis dead, Fallback answers from the instance's own limiter, and says so.
func TestFallbackWhenRedisDies(t *testing.T) {
	srv := redistest.Start(t)
	var fell []error
	f := &Fallback{
		Primary:    NewRedis(mustRedis(t, srv.Addr()), "fg:"),
		Secondary:  NewLocal(time.Now, Memory{}),
		Gate:       passGate{},
		OnFallback: func(err error) { fell = append(fell, err) },
	}
	lim := Limit{PerMinute: 60, Burst: 2}
	ctx := context.Background()
	if d, err := f.Allow(ctx, "k", lim); err != nil || !d.Allowed || len(fell) != 0 {
		t.Fatalf("with redis: got %+v, %v, %d fallbacks", d, err, len(fell))
	}
	srv.Kill()
	for i, want := range []bool{true, true, false} { // the local bucket is fresh
		d, err := f.Allow(ctx, "k", lim)
		if err != nil || d.Allowed != want {
			t.Fatalf("without redis, request %d: got %+v, %v; want allowed %v", i+1, d, err, want)
		}
	}
	if len(fell) != 3 {
		t.Errorf("fallbacks: got %d, want 3", len(fell))
	}
	srv.Restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := len(fell)
		d, err := f.Allow(ctx, "again", lim)
		if err != nil {
			t.Fatal(err)
		}
		if len(fell) == n && d.Allowed {
			break // answered by redis
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis back, but still falling back after 5s: %v", fell[len(fell)-1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A caller that gave up is not a fallback.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	n := len(fell)
	if _, err := f.Allow(cctx, "k", lim); !errors.Is(err, context.Canceled) || len(fell) != n {
		t.Errorf("canceled: got %v with %d new fallbacks, want context.Canceled and none", err, len(fell)-n)
	}
}
