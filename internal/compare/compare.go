// Package compare scores transactions with a second model off the hot path and compares the
// two models over a window of time: shadow scoring (SHADOW_MODEL_VERSION) and the
// champion/challenger split (CHALLENGER_MODEL_VERSION), behind GET /models/compare.
package compare

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/wire"
)

// Modes of comparison.
const (
	// ModeShadow: the live model answers every transaction; the shadow scores it too.
	ModeShadow = "shadow"
	// ModeChallenger: the challenger answers a share of transactions, the live model (the
	// champion) the rest; each is scored by the other too.
	ModeChallenger = "challenger"
)

// Job is one transaction to score with the model that did not answer it.
type Job struct {
	TransactionID string
	Features      [fraud.NumFeatures]float64
	// Answer is the score the client was given.
	Answer fraud.Score
	// ByOther is true when the answer came from the shadow or challenger, false when it came
	// from the live model (the champion).
	ByOther bool
	// Model scores the transaction a second time.
	Model *model.Model
}

// record is one transaction scored by both models: a the live model, b the other.
type record struct {
	time    time.Time
	id      string
	a, b    fraud.Score
	byOther bool
}

// Options are the settings of a Comparer.
type Options struct {
	// Mode is ModeShadow or ModeChallenger.
	Mode string
	// Queue is how many jobs may wait to be scored; when it is full, Offer drops. 4096 when 0.
	Queue int
	// Keep is how many scored transactions are kept, newest first: 100,000 when 0.
	Keep int
	// Retain is how long a scored transaction is kept: an hour when 0.
	Retain time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Comparer queues transactions for their second score, scores them in the background and
// keeps the pairs in memory for Report. Offer never blocks. It is safe for concurrent use.
type Comparer struct {
	opts  Options
	queue chan Job

	scored, dropped atomic.Int64

	mu   sync.Mutex
	ring []record // the last Keep records, oldest overwritten first
	next int
}

// New returns a Comparer; its counters fraudguard_shadow_scored_total and
// fraudguard_shadow_dropped_total are registered with reg when reg is not nil.
func New(reg prometheus.Registerer, o Options) (*Comparer, error) {
	if o.Queue <= 0 {
		o.Queue = 4096
	}
	if o.Keep <= 0 {
		o.Keep = 100_000
	}
	if o.Retain <= 0 {
		o.Retain = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Comparer{opts: o, queue: make(chan Job, o.Queue), ring: make([]record, 0, min(o.Keep, 4096))}
	if reg != nil {
		for _, col := range []prometheus.Collector{
			prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "fraudguard", Name: "shadow_scored_total",
				Help: "Transactions scored a second time, by the shadow or the model that did not answer (champion/challenger)."},
				func() float64 { return float64(c.scored.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "fraudguard", Name: "shadow_dropped_total",
				Help: "Transactions not scored a second time because the queue was full; the answers were not slowed."},
				func() float64 { return float64(c.dropped.Load()) }),
		} {
			if err := reg.Register(col); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// Mode returns the comparer's mode.
func (c *Comparer) Mode() string { return c.opts.Mode }

// Offer queues j for its second score, or drops it and counts the drop when the queue is full.
// It never blocks and does not allocate.
func (c *Comparer) Offer(j *Job) bool {
	select {
	case c.queue <- *j:
		return true
	default:
		c.dropped.Add(1)
		return false
	}
}

// Dropped returns how many jobs Offer dropped.
func (c *Comparer) Dropped() int64 { return c.dropped.Load() }

// Scored returns how many jobs were scored.
func (c *Comparer) Scored() int64 { return c.scored.Load() }

// Run scores the queued jobs until ctx ends.
func (c *Comparer) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-c.queue:
			c.score(&j)
		}
	}
}

// Drain scores every job queued now; tests call it instead of Run.
func (c *Comparer) Drain() {
	for {
		select {
		case j := <-c.queue:
			c.score(&j)
		default:
			return
		}
	}
}

func (c *Comparer) score(j *Job) {
	second := j.Model.Score(&j.Features)
	r := record{time: c.opts.Now(), id: j.TransactionID, a: j.Answer, b: second, byOther: j.ByOther}
	if j.ByOther {
		r.a, r.b = second, j.Answer
	}
	c.add(r)
}

// add keeps r, in place of the oldest when the ring is full.
func (c *Comparer) add(r record) {
	c.mu.Lock()
	if len(c.ring) < c.opts.Keep {
		c.ring = append(c.ring, r)
	} else {
		c.ring[c.next] = r
		c.next = (c.next + 1) % c.opts.Keep
	}
	c.mu.Unlock()
	c.scored.Add(1)
}

// Report compares the two models over the transactions scored in [since, until), with the top
// transactions on which they disagree most (by the gap between their probabilities).
func (c *Comparer) Report(since, until time.Time, top int) wire.CompareResponse {
	out := wire.CompareResponse{
		Mode: c.opts.Mode, Since: since.UTC(), Until: until.UTC(),
		LiveVersions: []string{}, OtherVersions: []string{}, TopDisagreements: []wire.Disagreement{},
		Dropped: c.dropped.Load(), RetainedSince: c.opts.Now().Add(-c.opts.Retain).UTC(),
	}
	horizon := c.opts.Now().Add(-c.opts.Retain)
	var rs []record
	c.mu.Lock()
	for _, r := range c.ring {
		if !r.time.Before(since) && r.time.Before(until) && !r.time.Before(horizon) {
			rs = append(rs, r)
		}
	}
	c.mu.Unlock()

	n := len(rs)
	out.Transactions = n
	if n == 0 {
		return out
	}
	var flagsA, flagsB, agree int
	var sa, sb, saa, sbb, sab float64
	for _, r := range rs {
		if !slices.Contains(out.LiveVersions, r.a.ModelVersion) {
			out.LiveVersions = append(out.LiveVersions, r.a.ModelVersion)
		}
		if !slices.Contains(out.OtherVersions, r.b.ModelVersion) {
			out.OtherVersions = append(out.OtherVersions, r.b.ModelVersion)
		}
		if r.a.IsFraud {
			flagsA++
		}
		if r.b.IsFraud {
			flagsB++
		}
		if r.a.IsFraud == r.b.IsFraud {
			agree++
		}
		if r.byOther {
			out.AnsweredByOther++
		}
		pa, pb := r.a.Probability, r.b.Probability
		sa, sb, saa, sbb, sab = sa+pa, sb+pb, saa+pa*pa, sbb+pb*pb, sab+pa*pb
	}
	fn := float64(n)
	out.LiveFlagRate = float64(flagsA) / fn
	out.OtherFlagRate = float64(flagsB) / fn
	out.AgreementRate = float64(agree) / fn
	// Pearson's r; undefined (null) when either model gives every transaction one score.
	cov := sab/fn - (sa/fn)*(sb/fn)
	va, vb := saa/fn-(sa/fn)*(sa/fn), sbb/fn-(sb/fn)*(sb/fn)
	if va > 0 && vb > 0 {
		r := math.Max(-1, math.Min(1, cov/math.Sqrt(va*vb)))
		out.ScoreCorrelation = &r
	}
	slices.SortStableFunc(rs, func(x, y record) int {
		dx, dy := gap(x), gap(y)
		switch {
		case dx > dy:
			return -1
		case dx < dy:
			return 1
		}
		return y.time.Compare(x.time)
	})
	for _, r := range rs[:min(top, n)] {
		if gap(r) == 0 {
			break
		}
		out.TopDisagreements = append(out.TopDisagreements, wire.Disagreement{
			TransactionID: r.id, Time: r.time.UTC(), AnsweredBy: answeredBy(r.byOther, c.opts.Mode),
			LiveVersion: r.a.ModelVersion, LiveProbability: r.a.Probability, LiveIsFraud: r.a.IsFraud,
			OtherVersion: r.b.ModelVersion, OtherProbability: r.b.Probability, OtherIsFraud: r.b.IsFraud,
			Difference: gap(r),
		})
	}
	return out
}

func gap(r record) float64 { return math.Abs(r.a.Probability - r.b.Probability) }

func answeredBy(byOther bool, mode string) string {
	switch {
	case !byOther:
		return "live"
	case mode == ModeChallenger:
		return "challenger"
	}
	return "shadow"
}

// InShare reports whether the transaction id falls in the share (a percentage) of
// transactions the challenger answers: by FNV-1a of the id, so an id always gets the same
// model. It does not allocate.
func InShare(id string, share int) bool {
	if share <= 0 {
		return false
	}
	if share >= 100 {
		return true
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return int(h%100) < share
}
