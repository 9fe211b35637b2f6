package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/synth"
)

// MaxImportBytes bounds the model file ReadImportFile reads into memory.
const MaxImportBytes = 1 << 30

// ImportCanaries is the number of canary rows stored in an imported bundle.
const ImportCanaries = 32

// ReadImportFile reads a model file to import, of at most MaxImportBytes.
func ReadImportFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxImportBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxImportBytes)
	}
	return data, nil
}

// ImportSettings are the choices of whoever imports a model: what the bundle is called and
// how it decides. They are the same for every library.
type ImportSettings struct {
	// File is the path of the model file; its base name is recorded as the training data.
	File string
	// Name is the model name; empty means File's base name without its extension.
	Name string
	// Version is the bundle version; empty lets Save generate one.
	Version string
	// Threshold is the decision threshold, from 0 to 1.
	Threshold float64
	// CreatedAt is the creation time recorded in the manifest.
	CreatedAt time.Time
	// Positional records that unnamed features were allowed to map by position.
	Positional bool
	// CanarySeed seeds the synthetic canary rows.
	CanarySeed uint64
}

// ImportedTrees is a tree model read from another library's file, its trees over the
// transaction features.
type ImportedTrees struct {
	// Library names the library that made the file ("xgboost", "lightgbm"); the manifest's
	// training algorithm is Library + "-import".
	Library string
	// Ensemble is the model.
	Ensemble *TreeEnsemble
	// Params are what the file says about the model (library version, objective, trees...),
	// recorded in the manifest's training params.
	Params map[string]any
}

// Imported is a bundle made from an imported model, checked as Load checks one, and what the
// import found, for the user.
type Imported struct {
	// Bundle is ready for Save.
	Bundle Bundle
	// Ensemble is the bundle's one member.
	Ensemble *TreeEnsemble
	// Mapping says in words how the model's features were mapped onto the transaction's.
	Mapping string
}

// BundleImported makes the bundle of an imported tree model: one KindTrees member, the
// manifest filled from s and t.Params, and ImportCanaries synthetic canary rows (half of
// them drawn as frauds, seeded by s.CanarySeed) that Save scores and Load re-scores. The
// bundle is checked as Load would check it (features, threshold, members) before it is
// returned; t.Params is not modified.
func BundleImported(t ImportedTrees, s ImportSettings) (*Imported, error) {
	member, err := json.Marshal(t.Ensemble)
	if err != nil {
		return nil, fmt.Errorf("encode the trees: %w", err)
	}
	canaries, err := importCanaryRows(s.CanarySeed)
	if err != nil {
		return nil, fmt.Errorf("canaries: %w", err)
	}
	name := s.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(s.File), filepath.Ext(s.File))
	}
	mapping := featureMapping(t.Ensemble.Options())
	params := make(map[string]any, len(t.Params)+3)
	for k, v := range t.Params {
		params[k] = v
	}
	params["positional"] = s.Positional
	params["feature_mapping"] = mapping
	params["canary_seed"] = s.CanarySeed
	b := Bundle{
		Manifest: Manifest{
			FormatVersion: FormatVersion,
			Name:          name,
			Version:       s.Version,
			Kind:          KindTrees,
			Features:      fraud.FeatureNames(),
			Threshold:     s.Threshold,
			// Trees compare the raw features: there is no preprocessing to describe.
			Preprocessing: []Preprocessing{},
			Training: Training{
				Algorithm: t.Library + "-import",
				Params:    params,
				Data:      filepath.Base(s.File),
				Split:     "none: imported, not trained here",
			},
			CreatedAt: s.CreatedAt,
			Members:   []MemberSpec{{Kind: KindTrees, File: TreesFile, Weight: 1}},
			Canaries:  canaries,
		},
		Files: map[string][]byte{TreesFile: member},
	}
	if _, err := build(b.Manifest, b.Files); err != nil {
		return nil, err
	}
	if len(canaries) == 0 {
		return nil, errors.New("no canary rows were made")
	}
	return &Imported{Bundle: b, Ensemble: t.Ensemble, Mapping: mapping}, nil
}

// featureMapping says in words how an imported ensemble's features map onto the transaction's:
// by name when every feature bears the name of the transaction feature it reads.
func featureMapping(o TreeOptions) string {
	fm, names := o.FeatureMap, o.FeatureNames
	byName := len(names) == len(fm)
	for j, k := range fm {
		byName = byName && names[j] == fraud.FeatureNames()[k]
	}
	if byName {
		return fmt.Sprintf("%d features mapped by name", len(fm))
	}
	return fmt.Sprintf("%d unnamed features mapped by position", len(fm))
}

// importCanaryRows returns synthetic transactions, half of them drawn as frauds, for an
// imported bundle's canaries: Load re-scores them and refuses a bundle that scores them
// differently.
func importCanaryRows(seed uint64) ([]Canary, error) {
	params, err := synth.DefaultParams()
	if err != nil {
		return nil, err
	}
	g, err := synth.NewGenerator(params, rand.New(rand.NewPCG(seed, 0x1337)), 0.5, ImportCanaries)
	if err != nil {
		return nil, err
	}
	out := make([]Canary, 0, ImportCanaries)
	var r synth.Row
	for g.Next(&r) {
		for _, v := range r.Features {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, errors.New("the generator made a non-finite value")
			}
		}
		out = append(out, Canary{Features: r.Features})
	}
	return out, nil
}
