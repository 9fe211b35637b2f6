package block

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/clocktest"
)

func TestBlockerStrikesWithinWindow(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	b := New(clock.Now, Options{Threshold: 3, Window: time.Minute, Duration: 10 * time.Minute})
	a := netip.MustParseAddr("203.0.113.9")
	// Strikes spread wider than the window never block.
	for range 10 {
		if b.Strike(a, "auth") {
			t.Fatal("blocked by strikes spread over more than the window")
		}
		clock.Advance(31 * time.Second)
	}
	if blocked, _ := b.Check(a); blocked {
		t.Fatal("blocked, want not")
	}
	clock.Advance(time.Minute) // the earlier strikes leave the window
	b.Strike(a, "auth")
	clock.Advance(10 * time.Second)
	b.Strike(a, "auth")
	clock.Advance(10 * time.Second)
	if !b.Strike(a, "attack:sqli") {
		t.Fatal("third strike within the window did not block")
	}
	blocked, retry := b.Check(a)
	if !blocked || retry != 10*time.Minute {
		t.Fatalf("got blocked %v retry %v, want true 10m", blocked, retry)
	}
	if b.Strike(a, "auth") {
		t.Error("a strike while blocked reported a new block")
	}
	list := b.List()
	if len(list) != 1 || list[0].IP != "203.0.113.9" || list[0].Reason != "attack:sqli" || list[0].RetryAfterS != 600 {
		t.Errorf("got list %+v", list)
	}
	clock.Advance(10*time.Minute + time.Nanosecond)
	if blocked, _ := b.Check(a); blocked {
		t.Error("still blocked after the block's duration")
	}
	// Unblock lifts a block at once.
	for range 3 {
		b.Strike(a, "auth")
	}
	if !b.Unblock(a) {
		t.Error("Unblock of a blocked address reported false")
	}
	if blocked, _ := b.Check(a); blocked {
		t.Error("still blocked after Unblock")
	}
}

func TestBlockerStaticLists(t *testing.T) {
	clock := clocktest.New(time.Now())
	b := New(clock.Now, Options{Threshold: 1, Window: time.Minute, Duration: time.Hour,
		Allow: mustPrefixes(t, "10.0.0.0/8"), Deny: mustPrefixes(t, "198.51.100.0/24, 2001:db8::1")})
	if b.Strike(netip.MustParseAddr("10.1.2.3"), "auth") {
		t.Error("an allow-listed address was blocked")
	}
	for _, s := range []string{"198.51.100.77", "2001:db8::1"} {
		if blocked, retry := b.Check(netip.MustParseAddr(s)); !blocked || retry != 0 {
			t.Errorf("%s: got blocked %v retry %v, want a static block", s, blocked, retry)
		}
	}
}

func TestBlockerMemoryBounded(t *testing.T) {
	clock := clocktest.New(time.Now())
	b := New(clock.Now, Options{Threshold: 5, Window: time.Second, Duration: time.Minute, MaxAddrs: 6400})
	for i := range 200_000 {
		b.Strike(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), "rate")
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
