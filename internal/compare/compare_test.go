package compare

import (
	"fmt"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

func TestInShare(t *testing.T) {
	for _, share := range []int{0, 1, 30, 50, 99, 100} {
		in := 0
		const n = 20000
		for i := range n {
			id := fmt.Sprintf("txn_%d", i)
			got := InShare(id, share)
			if got != InShare(id, share) {
				t.Fatalf("%s: not the same answer twice", id)
			}
			in += btoi(got)
		}
		if pct := 100 * float64(in) / n; pct < float64(share)-1.5 || pct > float64(share)+1.5 {
			t.Errorf("share %d: got %.1f%% in, want %d%% ± 1.5", share, pct, share)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestKeepAndRetain: the ring keeps the last Keep pairs, and Report leaves out those older
// than Retain whatever the window asked.
func TestKeepAndRetain(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c, err := New(nil, Options{Mode: ModeShadow, Keep: 4, Retain: 150 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		now = now.Add(time.Minute)
		c.add(record{time: now, id: fmt.Sprint(i), a: fraud.NewScore(0.1*float64(i), 0.5, "a"), b: fraud.NewScore(0.2, 0.5, "b")})
	}
	all := c.Report(now.Add(-time.Hour), now.Add(time.Second), 10)
	// The ring keeps 2 to 5 (Keep 4); 2, three minutes old, is past Retain.
	if all.Transactions != 3 {
		t.Fatalf("got %d transactions, want 3 (the ring keeps 4, Retain cuts one more)", all.Transactions)
	}
	if d := all.TopDisagreements; len(d) != 3 || d[0].TransactionID != "5" || d[0].Difference < d[1].Difference {
		t.Errorf("disagreements: got %+v, want 5 first (0.5 against 0.2)", d)
	}
	// Live probabilities 0.3, 0.4, 0.5 at threshold 0.5: only the last is flagged.
	if all.LiveFlagRate != 1.0/3 || all.OtherFlagRate != 0 || all.AgreementRate != 2.0/3 {
		t.Errorf("rates: got %v %v %v, want 1/3, 0, 2/3", all.LiveFlagRate, all.OtherFlagRate, all.AgreementRate)
	}
	if all.ScoreCorrelation != nil {
		t.Errorf("correlation: got %v, want null (the other model gives one score)", *all.ScoreCorrelation)
	}
}
