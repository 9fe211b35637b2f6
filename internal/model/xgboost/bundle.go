package xgboost

import (
	"fmt"
	"strconv"

	"github.com/fraudguard/fraudguard/internal/model"
)

// Bundle imports the XGBoost model in data (see Import) and makes its bundle (see
// model.BundleImported), recording in the manifest the XGBoost version, objective, booster,
// base_score, the number of trees kept and of rounds in the file, and the best_iteration when
// the file has one.
func Bundle(data []byte, opts Options, s model.ImportSettings) (*model.Imported, error) {
	m, e, err := Import(data, opts)
	if err != nil {
		return nil, err
	}
	params := map[string]any{
		"xgboost_version":  fmt.Sprintf("%d.%d.%d", m.Version[0], m.Version[1], m.Version[2]),
		"objective":        m.Objective,
		"booster":          m.Booster,
		"base_score":       float32Decimal(m.BaseScore),
		"trees":            len(m.Trees),
		"rounds_in_file":   len(m.RoundEnds),
		"up_to_best_round": opts.BestIteration,
	}
	if m.BestIteration >= 0 {
		params["best_iteration"] = m.BestIteration
	}
	return model.BundleImported(model.ImportedTrees{Library: "xgboost", Ensemble: e, Params: params}, s)
}

// float32Decimal returns the float64 nearest to the shortest decimal of float32(x), so that a
// float32 parameter reads as XGBoost wrote it (0.2, not 0.20000000298023224).
func float32Decimal(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', -1, 32), 64)
	return v
}
