package decision

import (
	"cmp"
	"slices"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// Performance computes each model version's quality on its labelled decisions: counts holds
// every version's number of decisions, scores the labelled decisions with their latest label.
// Versions come in lexical order. A figure that cannot be computed is nil:
//
//   - precision and recall are taken at each decision's own is_fraud; precision is nil when no
//     labelled decision has is_fraud, recall when no fraud is labelled; f1 is their harmonic
//     mean (0 when both are 0), nil when either is nil;
//   - roc_auc is the probability that a labelled fraud scores above a labelled legitimate
//     transaction, ties counted half; nil unless both labels are present;
//   - average_precision is scikit-learn's: Σ (R_k − R_{k−1}) · P_k over the distinct scores from
//     the highest down, unweighted; nil when no fraud is labelled.
func Performance(counts map[string]int, scores []fraud.LabelledScore) []wire.VersionPerformance {
	byVersion := map[string][]fraud.LabelledScore{}
	for _, s := range scores {
		byVersion[s.ModelVersion] = append(byVersion[s.ModelVersion], s)
	}
	versions := make([]string, 0, len(counts))
	for v := range counts {
		versions = append(versions, v)
	}
	for v := range byVersion {
		if _, ok := counts[v]; !ok {
			versions = append(versions, v)
		}
	}
	slices.Sort(versions)
	out := make([]wire.VersionPerformance, 0, len(versions))
	for _, v := range versions {
		out = append(out, versionPerformance(v, counts[v], byVersion[v]))
	}
	return out
}

func versionPerformance(version string, decisions int, scores []fraud.LabelledScore) wire.VersionPerformance {
	p := wire.VersionPerformance{ModelVersion: version, Decisions: max(decisions, len(scores)), Labelled: len(scores)}
	var tp, fp, fn int
	for _, s := range scores {
		if s.Fraud {
			p.Frauds++
		}
		switch {
		case s.IsFraud && s.Fraud:
			tp++
		case s.IsFraud:
			fp++
		case s.Fraud:
			fn++
		}
	}
	if p.Decisions > 0 {
		p.LabelledShare = float64(p.Labelled) / float64(p.Decisions)
	}
	if tp+fp > 0 {
		p.Precision = ptr(float64(tp) / float64(tp+fp))
	}
	if tp+fn > 0 {
		p.Recall = ptr(float64(tp) / float64(tp+fn))
	}
	if p.Precision != nil && p.Recall != nil {
		f1 := 0.0
		if s := *p.Precision + *p.Recall; s > 0 {
			f1 = 2 * *p.Precision * *p.Recall / s
		}
		p.F1 = &f1
	}
	legit := p.Labelled - p.Frauds
	if p.Frauds == 0 {
		return p
	}
	// Sorted by probability, highest first; each run of equal probabilities is one step.
	sorted := slices.Clone(scores)
	slices.SortFunc(sorted, func(a, b fraud.LabelledScore) int { return cmp.Compare(b.Probability, a.Probability) })
	var ap, rank float64 // rank: Σ over frauds of the legit scored below, ties half
	var tpc, fpc int
	legitAbove := 0
	for i := 0; i < len(sorted); {
		j := i
		var pos, neg int
		for ; j < len(sorted) && sorted[j].Probability == sorted[i].Probability; j++ {
			if sorted[j].Fraud {
				pos++
			} else {
				neg++
			}
		}
		tpc += pos
		fpc += neg
		ap += float64(pos) / float64(p.Frauds) * float64(tpc) / float64(tpc+fpc)
		below := legit - legitAbove - neg
		rank += float64(pos) * (float64(below) + float64(neg)/2)
		legitAbove += neg
		i = j
	}
	p.AveragePrecision = &ap
	if legit > 0 {
		p.ROCAUC = ptr(rank / (float64(p.Frauds) * float64(legit)))
	}
	return p
}

func ptr(v float64) *float64 { return &v }
