package block

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientIPResolver finds a request's client address: the socket peer, unless the peer is a
// trusted proxy, in which case the rightmost address of X-Forwarded-For that is not a trusted
// proxy. A client cannot forge its address through X-Forwarded-For: an untrusted peer's header
// is ignored, and a trusted proxy's header is read from the right, where the proxies appended.
type ClientIPResolver struct {
	trusted []netip.Prefix
}

// NewClientIPResolver trusts the proxies in trusted.
func NewClientIPResolver(trusted []netip.Prefix) *ClientIPResolver {
	return &ClientIPResolver{trusted: trusted}
}

// ClientIP returns the client's address; the zero Addr when the peer address cannot be parsed.
func (c *ClientIPResolver) ClientIP(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !c.isTrusted(peer) {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			j := strings.LastIndexByte(rest, ',')
			item := strings.TrimSpace(rest[j+1:])
			rest = rest[:max(j, 0)]
			a, err := netip.ParseAddr(item)
			if err != nil {
				// A garbled hop: what lies left of it cannot be trusted either.
				return peer
			}
			a = a.Unmap()
			if !c.isTrusted(a) {
				return a
			}
			peer = a
		}
	}
	return peer
}

// IsTrusted reports whether a is a trusted proxy.
func (c *ClientIPResolver) IsTrusted(a netip.Addr) bool { return c.isTrusted(a) }

func (c *ClientIPResolver) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// ParsePrefixes parses comma-separated CIDRs or single addresses (taken as /32 or /128).
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
