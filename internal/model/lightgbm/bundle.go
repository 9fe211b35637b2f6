package lightgbm

import "github.com/fraudguard/fraudguard/internal/model"

// Bundle imports the LightGBM model in data (see Import) and makes its bundle (see
// model.BundleImported), recording in the manifest the text format's version, the objective,
// whether the trees are averaged and how many there are.
func Bundle(data []byte, opts Options, s model.ImportSettings) (*model.Imported, error) {
	m, e, err := Import(data, opts)
	if err != nil {
		return nil, err
	}
	params := map[string]any{
		"lightgbm_format": m.Version,
		"objective":       m.Objective,
		"average_output":  m.AverageOutput,
		"trees":           len(m.Trees),
	}
	return model.BundleImported(model.ImportedTrees{Library: "lightgbm", Ensemble: e, Params: params}, s)
}
