package block

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fraudguard/fraudguard/internal/clocktest"
	"github.com/fraudguard/fraudguard/internal/redistest"
)

var ctx = context.Background()

func TestBlockerStrikesWithinWindow(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	b := New(clock.Now, Options{Threshold: 3, Window: time.Minute, Duration: 10 * time.Minute})
	a := netip.MustParseAddr("203.0.113.9")
	// Strikes spread wider than the window never block.
	for range 10 {
		if b.Strike(ctx, a, "auth") {
			t.Fatal("blocked by strikes spread over more than the window")
		}
		clock.Advance(31 * time.Second)
	}
	if blocked, _ := b.Check(ctx, a); blocked {
		t.Fatal("blocked, want not")
	}
	clock.Advance(time.Minute) // the earlier strikes leave the window
	b.Strike(ctx, a, "auth")
	clock.Advance(10 * time.Second)
	b.Strike(ctx, a, "auth")
	clock.Advance(10 * time.Second)
	if !b.Strike(ctx, a, "attack:sqli") {
		t.Fatal("third strike within the window did not block")
	}
	blocked, retry := b.Check(ctx, a)
	if !blocked || retry != 10*time.Minute {
		t.Fatalf("got blocked %v retry %v, want true 10m", blocked, retry)
	}
	if b.Strike(ctx, a, "auth") {
		t.Error("a strike while blocked reported a new block")
	}
	list := b.List(ctx)
	if len(list) != 1 || list[0].IP != "203.0.113.9" || list[0].Reason != "attack:sqli" || list[0].RetryAfterS != 600 {
		t.Errorf("got list %+v", list)
	}
	clock.Advance(10*time.Minute + time.Nanosecond)
	if blocked, _ := b.Check(ctx, a); blocked {
		t.Error("still blocked after the block's duration")
	}
	// Unblock lifts a block at once.
	for range 3 {
		b.Strike(ctx, a, "auth")
	}
	if !b.Unblock(ctx, a) {
		t.Error("Unblock of a blocked address reported false")
	}
	if blocked, _ := b.Check(ctx, a); blocked {
		t.Error("still blocked after Unblock")
	}
}

func TestBlockerStaticLists(t *testing.T) {
	clock := clocktest.New(time.Now())
	b := New(clock.Now, Options{Threshold: 1, Window: time.Minute, Duration: time.Hour,
		Allow: mustPrefixes(t, "10.0.0.0/8"), Deny: mustPrefixes(t, "198.51.100.0/24, 2001:db8::1")})
	if b.Strike(ctx, netip.MustParseAddr("10.1.2.3"), "auth") {
		t.Error("an allow-listed address was blocked")
	}
	for _, s := range []string{"198.51.100.77", "2001:db8::1"} {
		if blocked, retry := b.Check(ctx, netip.MustParseAddr(s)); !blocked || retry != 0 {
			t.Errorf("%s: got blocked %v retry %v, want a static block", s, blocked, retry)
		}
	}
}

func TestBlockerMemoryBounded(t *testing.T) {
	clock := clocktest.New(time.Now())
	b := New(clock.Now, Options{Threshold: 5, Window: time.Second, Duration: time.Minute, MaxAddrs: 6400})
	for i := range 200_000 {
		b.Strike(ctx, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), "rate")
		if i%1000 == 0 {
			clock.Advance(2 * time.Second)
		}
	}
	n := 0
	for i := range b.shards {
		n += len(b.shards[i].addrs)
	}
	if n > 6400 {
		t.Errorf("got %d addresses remembered, want at most 6400", n)
	}
}

func mustPrefixes(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientIP(t *testing.T) {
	r := NewClientIPResolver(mustPrefixes(t, "10.0.0.0/8, 192.168.1.1"))
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.5:4444", nil, "203.0.113.5"},
		{"forged header from an untrusted peer", "203.0.113.5:4444", []string{"1.2.3.4"}, "203.0.113.5"},
		{"through one proxy", "10.0.0.2:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client prepends a lie", "10.0.0.2:80", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"two proxies", "10.0.0.2:80", []string{"198.51.100.7, 192.168.1.1"}, "198.51.100.7"},
		{"two headers", "10.0.0.2:80", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"all trusted", "10.0.0.2:80", []string{"10.9.9.9"}, "10.9.9.9"},
		{"garbage", "10.0.0.2:80", []string{"not-an-ip"}, "10.0.0.2"},
		{"ipv6 peer", "[2001:db8::5]:443", nil, "2001:db8::5"},
		{"mapped v4", "[::ffff:203.0.113.5]:1", nil, "203.0.113.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.ClientIP(req); got.String() != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParsePrefixesRejects(t *testing.T) {
	for _, s := range []string{"10.0.0.0/33", "nope", "1.2.3"} {
		if _, err := ParsePrefixes(s); err == nil {
			t.Errorf("%q: got no error", s)
		}
	}
	if p, err := ParsePrefixes(" 10.0.0.0/8 , ::1 "); err != nil || fmt.Sprint(p) != "[10.0.0.0/8 ::1/128]" {
		t.Errorf("got %v, %v", p, err)
	}
}

// Instances sharing one Redis share blocks: strikes counted on two instances block the
// address on a third, and an unblock through any lifts it for all. With Redis gone, an
// instance counts and blocks on its own.
func TestBlockerSharedInRedis(t *testing.T) {
	srv := redistest.Start(t)
	newInstance := func(fell *int) *Blocker {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 300 * time.Millisecond})
		t.Cleanup(func() { c.Close() })
		return New(time.Now, Options{Threshold: 3, Window: time.Minute, Duration: time.Hour,
			Shared: NewRedis(c, "fg:block:"), OnFallback: func(error) { *fell++ }})
	}
	var fell int
	a, b, c := newInstance(&fell), newInstance(&fell), newInstance(&fell)
	addr := netip.MustParseAddr("203.0.113.50")
	if a.Strike(ctx, addr, "auth") || b.Strike(ctx, addr, "auth") {
		t.Fatal("blocked before the third strike")
	}
	if blocked, _ := c.Check(ctx, addr); blocked {
		t.Fatal("blocked after two strikes")
	}
	if !c.Strike(ctx, addr, "attack:xss") {
		t.Fatal("the third strike, on a third instance, did not block")
	}
	for i, inst := range []*Blocker{a, b, c} {
		blocked, retry := inst.Check(ctx, addr)
		if !blocked || retry <= 59*time.Minute || retry > time.Hour {
			t.Errorf("instance %d: got blocked %v retry %v, want blocked for about 1h", i, blocked, retry)
		}
	}
	if l := a.List(ctx); len(l) != 1 || l[0].IP != addr.String() || l[0].Reason != "attack:xss" || l[0].StrikesTotal != 3 {
		t.Errorf("list on another instance: got %+v", l)
	}
	if !b.Unblock(ctx, addr) {
		t.Error("unblock: got false, want true")
	}
	if blocked, _ := a.Check(ctx, addr); blocked {
		t.Error("still blocked on another instance after the unblock")
	}
	if b.Unblock(ctx, addr) {
		t.Error("second unblock: got true, want false")
	}
	if fell != 0 {
		t.Errorf("fallbacks with redis up: got %d", fell)
	}

	srv.Kill()
	other := netip.MustParseAddr("203.0.113.51")
	for i := 0; i < 2; i++ {
		a.Strike(ctx, other, "auth")
	}
	if !a.Strike(ctx, other, "auth") {
		t.Fatal("without redis: three strikes on one instance did not block it there")
	}
	if blocked, _ := a.Check(ctx, other); !blocked {
		t.Error("without redis: not blocked on the instance that blocked it")
	}
	if fell == 0 {
		t.Error("without redis: no fallback reported")
	}
}
