package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/atomicfile"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// The bundle format.
//
// A bundle is a directory ROOT/<version>/ holding manifest.json and the parameter files of the
// model's members. It is flat (no subdirectories) and immutable once written: Save builds it in
// a hidden temporary directory (".<version>.*.tmp", ignored by LoadLatest) and renames it into
// place, so a reader never sees half of one.
//
// manifest.json (see Manifest) says what the model is and how it was made; members lists the
// parameter files and their kinds. A bundle may also hold a reference sample (ReferenceFile,
// see reference.go), which its manifest's reference section describes with the importance
// measured on it. The probability of fraud is
// sigmoid(bias + Σ weight_i · margin_i(x)), x being the raw features in fraud.FeatureNames
// order. Preprocessing lives with the member that needs it: a logreg member's file holds the
// mean and scale it standardises with (see Logreg), a tree member needs none; the manifest's
// preprocessing list only describes it. A member kind is added by writing its MemberLoader and
// listing it in MemberLoaders.
//
// Every number is written by encoding/json, which gives the shortest decimal that reads back
// to the same float64, so a loaded bundle scores exactly as the one saved: the canaries check
// it at every load.

// FormatVersion is the newest bundle format this build writes and reads. Format 2 added the
// split gains of tree members (TreeNode.Gain, the member file's "gain" arrays) and the
// reference sample (ReferenceFile, the manifest's reference section); a bundle that has
// neither is written as format 1, byte for byte as before, so that builds that read only
// format 1 still load it, and refuse a format 2 bundle by its format_version rather than by an
// unknown field.
const FormatVersion = 2

// MinFormatVersion is the oldest bundle format this build reads.
const MinFormatVersion = 1

// ManifestFile is the name of a bundle's manifest.
const ManifestFile = "manifest.json"

// KindEnsemble is the model kind of a bundle whose members are of several kinds.
const KindEnsemble = "ensemble"

// CanaryTolerance is how far a canary's re-scored probability p may be from the one recorded
// in the manifest before Load rejects the bundle, relative to the smaller of p and 1−p: a
// probability of 1e-12 is checked to as many significant digits as one of ½. It leaves room
// for rounding differences across CPUs (fused multiply-add), which are near 1e-16.
const CanaryTolerance = 1e-9

// canaryMatches reports whether got is want within CanaryTolerance.
func canaryMatches(got, want float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= CanaryTolerance*min(want, 1-want)
}

// Manifest describes a bundle. It is stored as manifest.json with snake_case keys.
type Manifest struct {
	// FormatVersion is the bundle format (FormatVersion).
	FormatVersion int `json:"format_version"`
	// Name is a human label shared by successive versions of the same model.
	Name string `json:"name"`
	// Version names this bundle and its directory.
	Version string `json:"version"`
	// Kind is the model kind: a member kind ("logreg") when every member is of that kind, or
	// KindEnsemble.
	Kind string `json:"kind"`
	// Features are the model inputs in order; they must equal fraud.FeatureNames.
	Features []string `json:"features"`
	// Preprocessing describes the transformations members apply to the raw features. It is
	// documentation for readers of the bundle: each member file holds the parameters of its own
	// preprocessing (a logreg member's mean and scale, say) and applies them itself.
	Preprocessing []Preprocessing `json:"preprocessing"`
	// Threshold is the decision threshold: a transaction is flagged when its probability is at
	// least Threshold.
	Threshold float64 `json:"threshold"`
	// Metrics are the model's figures on its training and validation data.
	Metrics Evaluation `json:"metrics"`
	// Training records how the model was made.
	Training Training `json:"training"`
	// CreatedAt is when the model was made (RFC 3339, UTC).
	CreatedAt time.Time `json:"created_at"`
	// Members are the model's parts; their margins blend as Bias + Σ weight · margin.
	Members []MemberSpec `json:"members"`
	// Bias is added to the blended margin.
	Bias float64 `json:"bias"`
	// Canaries are inputs with their expected probabilities; Load re-scores them all.
	Canaries []Canary `json:"canaries"`
	// Reference describes the bundle's reference sample and the importance measured on it;
	// nil when the bundle has none. Save writes it from Bundle.Reference (format 2).
	Reference *ReferenceInfo `json:"reference,omitempty"`
}

// Preprocessing describes one transformation that a member applies to its inputs.
type Preprocessing struct {
	// Member is the file of the member that applies it.
	Member string `json:"member"`
	// Kind names the transformation, "standardize" for example.
	Kind string `json:"kind"`
	// Description says in words what is done and where the parameters are.
	Description string `json:"description"`
}

// Evaluation holds a model's figures on its training and validation splits. It is the wire
// type that GET /models/info answers, as are Metrics and Confusion.
type Evaluation = wire.Evaluation

// Metrics are a model's figures on one set of rows (see wire.Metrics).
type Metrics = wire.Metrics

// Confusion is a confusion matrix (see wire.Confusion).
type Confusion = wire.Confusion

// Training records how a model was made.
type Training struct {
	// Algorithm is the training algorithm ("logreg").
	Algorithm string `json:"algorithm"`
	// Params are the algorithm's settings, by name.
	Params map[string]any `json:"params"`
	// Data is the base name of the training file.
	Data string `json:"data"`
	// Rows is the number of rows read from it.
	Rows int `json:"rows"`
	// Split says how the rows were divided into training and validation.
	Split string `json:"split"`
	// Seed seeded every random choice made while training.
	Seed int64 `json:"seed"`
	// Refit is set when the shipped members were fitted again on every row once the choices
	// (rounds, blend, calibration, threshold) had been made on the split.
	Refit *Refit `json:"refit,omitempty"`
}

// Refit describes the refit of a model's members on every row.
type Refit struct {
	// Rows and Frauds count the rows the shipped members were fitted on.
	Rows   int `json:"rows"`
	Frauds int `json:"frauds"`
	// Trees is the number of trees the refit grew, when the model has trees, RoundsPerBag
	// the rounds each of its bags grew.
	Trees        int `json:"trees,omitempty"`
	RoundsPerBag int `json:"rounds_per_bag,omitempty"`
	// Description says what was refitted and what was kept.
	Description string `json:"description"`
}

// MemberSpec names one member of a bundle.
type MemberSpec struct {
	// Kind selects the MemberLoader that reads File.
	Kind string `json:"kind"`
	// File is the member's parameter file, a plain name inside the bundle directory.
	File string `json:"file"`
	// Weight multiplies the member's margin.
	Weight float64 `json:"weight"`
}

// Canary is an input with the probability the model must give it.
type Canary struct {
	// Features are the raw inputs, in fraud.FeatureNames order.
	Features [fraud.NumFeatures]float64 `json:"features"`
	// Probability is the model's output for them, as computed by Save.
	Probability float64 `json:"probability"`
}

// MemberLoader decodes the parameter file of one member kind.
type MemberLoader func(data []byte) (Member, error)

// MemberLoaders returns the loader of every member kind this build knows, by kind. A new kind
// of member is added here; Load and Save need no change.
func MemberLoaders() map[string]MemberLoader {
	return map[string]MemberLoader{
		KindLogreg: LoadLogreg,
		KindTrees:  LoadTrees,
	}
}

// Bundle is a model ready to be saved: its manifest and its members' files.
type Bundle struct {
	// Manifest describes the model. Save fills in FormatVersion, Features when empty, the
	// canaries' probabilities, the reference section (from Reference) and, when empty, Version.
	Manifest Manifest
	// Files holds the members' parameter files (and any other file to ship), by plain name.
	Files map[string][]byte
	// Reference, when not nil, is written as ReferenceFile, and Save measures the model's
	// mean |SHAP| on it into the manifest's reference section; the model must then be
	// explainable (see Model.ExplainError).
	Reference *Reference
}

// Load reads and checks the bundle in dir. It fails, with an error naming dir, when the manifest
// is missing or its format is not from MinFormatVersion to FormatVersion, when its features are
// not fraud.FeatureNames, when a member is of an unknown kind or its file is missing or
// corrupt, when a reference section does not match its file, when the bundle holds what its
// format version does not have, and when a canary's probability differs from the manifest's
// by more than CanaryTolerance. A bundle without canaries (written before bundles carried
// them) loads with NoCanariesWarning in Warnings. It sets SHA256 to the bundle's digest (see
// BundleDigest) and LoadedAt to the current time. The reference's importance is read, not
// measured again.
func Load(dir string) (*Model, error) {
	m, err := load(dir)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	return m, nil
}

func load(dir string) (*Model, error) {
	files, err := readBundle(dir)
	if err != nil {
		return nil, err
	}
	data, ok := files[ManifestFile]
	if !ok {
		return nil, fmt.Errorf("%s: %w", ManifestFile, fs.ErrNotExist)
	}
	man, err := decodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	m, err := build(man, files)
	if err != nil {
		return nil, err
	}
	if need := formatNeeded(man, m.importance); man.FormatVersion < need {
		return nil, fmt.Errorf("%s: format_version is %d, but the bundle has split gains or a reference sample, which need format_version %d", ManifestFile, man.FormatVersion, need)
	}
	for i, c := range man.Canaries {
		if got := m.Probability(&c.Features); !canaryMatches(got, c.Probability) {
			return nil, fmt.Errorf("canary %d: model gives probability %.17g, manifest says %.17g (relative tolerance %g)",
				i, got, c.Probability, CanaryTolerance)
		}
	}
	if len(man.Canaries) == 0 {
		m.Warnings = append(m.Warnings, NoCanariesWarning)
	}
	m.Dir = dir
	m.SHA256 = digestFiles(files)
	m.LoadedAt = time.Now()
	return m, nil
}

// decodeManifest decodes a manifest strictly, checking its format version before anything else
// so that a newer bundle is reported as such rather than as unknown fields.
func decodeManifest(data []byte) (Manifest, error) {
	var head struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Manifest{}, fmt.Errorf("decode: %w", err)
	}
	if head.FormatVersion == nil {
		return Manifest{}, fmt.Errorf("format_version is missing (this build reads format_version %d to %d)", MinFormatVersion, FormatVersion)
	}
	if v := *head.FormatVersion; v < MinFormatVersion || v > FormatVersion {
		return Manifest{}, fmt.Errorf("format_version is %d, this build reads format_version %d to %d", v, MinFormatVersion, FormatVersion)
	}
	var man Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&man); err != nil {
		return Manifest{}, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return Manifest{}, errors.New("decode: data after the manifest object")
	}
	return man, nil
}

// build checks man and makes its model from the members' files; it does not check canaries.
func build(man Manifest, files map[string][]byte) (*Model, error) {
	if err := checkFeatures(man.Features); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	if !finite(man.Threshold) || man.Threshold < 0 || man.Threshold > 1 {
		return nil, fmt.Errorf("%s: threshold %v is not between 0 and 1", ManifestFile, man.Threshold)
	}
	if !finite(man.Bias) {
		return nil, fmt.Errorf("%s: bias %v is not finite", ManifestFile, man.Bias)
	}
	if len(man.Members) == 0 {
		return nil, fmt.Errorf("%s: no members", ManifestFile)
	}
	loaders := MemberLoaders()
	if _, ok := loaders[man.Kind]; !ok && man.Kind != KindEnsemble {
		return nil, fmt.Errorf("%s: unknown model kind %q (known: %s)", ManifestFile, man.Kind, knownKinds(loaders, true))
	}
	m := &Model{Manifest: man, bias: man.Bias}
	for i, spec := range man.Members {
		loadMember, ok := loaders[spec.Kind]
		if !ok {
			return nil, fmt.Errorf("%s: members[%d]: unknown member kind %q (known: %s)", ManifestFile, i, spec.Kind, knownKinds(loaders, false))
		}
		if man.Kind != KindEnsemble && spec.Kind != man.Kind {
			return nil, fmt.Errorf("%s: members[%d] is of kind %q in a %q model", ManifestFile, i, spec.Kind, man.Kind)
		}
		if !finite(spec.Weight) {
			return nil, fmt.Errorf("%s: members[%d]: weight %v is not finite", ManifestFile, i, spec.Weight)
		}
		if err := checkFileName(spec.File); err != nil {
			return nil, fmt.Errorf("%s: members[%d]: %w", ManifestFile, i, err)
		}
		data, ok := files[spec.File]
		if !ok {
			return nil, fmt.Errorf("member %s: %w", spec.File, fs.ErrNotExist)
		}
		mem, err := loadMember(data)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", spec.File, err)
		}
		m.members = append(m.members, mem)
		m.weights = append(m.weights, spec.Weight)
	}
	for i, p := range man.Preprocessing {
		if !slices.ContainsFunc(man.Members, func(s MemberSpec) bool { return s.File == p.Member }) {
			return nil, fmt.Errorf("%s: preprocessing[%d] names member %q, which is not in members", ManifestFile, i, p.Member)
		}
	}
	if err := checkReference(man, files); err != nil {
		return nil, err
	}
	m.prepareImportance()
	return m, nil
}

// checkReference checks the manifest's reference section against its file: a plain name, a
// file that decodes with as many rows as the section says, and a finite mean |SHAP| >= 0 for
// every feature.
func checkReference(man Manifest, files map[string][]byte) error {
	ref := man.Reference
	if ref == nil {
		return nil
	}
	if err := checkFileName(ref.File); err != nil {
		return fmt.Errorf("%s: reference: %w", ManifestFile, err)
	}
	if slices.ContainsFunc(man.Members, func(s MemberSpec) bool { return s.File == ref.File }) {
		return fmt.Errorf("%s: reference: file %s is a member's", ManifestFile, ref.File)
	}
	data, ok := files[ref.File]
	if !ok {
		return fmt.Errorf("reference %s: %w", ref.File, fs.ErrNotExist)
	}
	r, err := decodeReference(data)
	if err != nil {
		return fmt.Errorf("reference %s: %w", ref.File, err)
	}
	if len(r.Rows) != ref.Rows {
		return fmt.Errorf("%s: reference: rows is %d, %s holds %d", ManifestFile, ref.Rows, ref.File, len(r.Rows))
	}
	if len(ref.MeanAbsSHAP) != len(man.Features) {
		return fmt.Errorf("%s: reference: mean_abs_shap has %d entries for %d features", ManifestFile, len(ref.MeanAbsSHAP), len(man.Features))
	}
	for j, v := range ref.MeanAbsSHAP {
		if !finite(v) || v < 0 {
			return fmt.Errorf("%s: reference: mean_abs_shap of %s is %v, want a finite number >= 0", ManifestFile, man.Features[j], v)
		}
	}
	return nil
}

// NoCanariesWarning is the warning of a model loaded from a bundle without canary rows: one
// written before bundles carried them. It loads, but its scores were not checked.
const NoCanariesWarning = "the bundle has no canary rows (written before bundles carried them): its format and features were checked, its scores were not"

func knownKinds(loaders map[string]MemberLoader, ensemble bool) string {
	kinds := make([]string, 0, len(loaders)+1)
	for k := range loaders {
		kinds = append(kinds, k)
	}
	if ensemble {
		kinds = append(kinds, KindEnsemble)
	}
	slices.Sort(kinds)
	return strings.Join(kinds, ", ")
}

// readBundle reads every file of the bundle directory dir. Bundles are flat: a subdirectory is
// an error.
func readBundle(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("unexpected subdirectory %s in a bundle", e.Name())
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = data
	}
	return files, nil
}

// BundleDigest returns the hex SHA-256 of the bundle in dir: of every file, taken in byte order
// of their names, the name, a zero byte, the content's length as 8 big-endian bytes and the
// content. Nothing is left out, manifest.json included.
func BundleDigest(dir string) (string, error) {
	files, err := readBundle(dir)
	if err != nil {
		return "", fmt.Errorf("bundle digest %s: %w", dir, err)
	}
	return digestFiles(files), nil
}

func digestFiles(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	var n [8]byte
	for _, name := range names {
		h.Write([]byte(name))
		h.Write([]byte{0})
		binary.BigEndian.PutUint64(n[:], uint64(len(files[name])))
		h.Write(n[:])
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkFileName accepts a plain file name that can live in a bundle directory.
func checkFileName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("file name %q is not a plain file name", name)
	}
	return nil
}

// CheckVersion reports whether v can name a bundle directory: 1 to 128 ASCII letters, digits,
// '_', '-' or '.', not starting with '.' or '-'.
func CheckVersion(v string) error {
	ok := v != "" && len(v) <= 128 && v[0] != '.' && v[0] != '-'
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
	}
	if !ok {
		return fmt.Errorf("version %q must be 1 to 128 letters, digits, '_', '-' or '.' and not start with '.' or '-'", v)
	}
	return nil
}

// VersionTimeLayout is the time part of a generated version, in UTC.
const VersionTimeLayout = "20060102-150405"

// Save writes b as a new bundle under root (created if needed) and returns its directory.
//
// The manifest is completed first: FormatVersion (the oldest format that holds the bundle: 1
// unless a tree member has split gains or there is a reference sample), Features (when empty),
// each canary's probability, re-scored with the members exactly as Load will, and, with a
// reference sample, the reference section with the model's mean |SHAP| on it. The bundle is checked as Load
// would check it, so Save never writes a bundle that does not load.
//
// When Manifest.Version is empty it becomes CreatedAt (UTC, VersionTimeLayout), a dash and the
// first 8 hex digits of the content hash. The content hash is the BundleDigest of the bundle
// with the manifest's version field still empty: it depends on every byte that matters and on
// nothing that depends on it. To check a generated version, set the manifest's version back to
// "", re-encode it as Save does (MarshalManifest) and digest the files.
//
// The bundle directory is made by atomicfile.CreateDir: files are written into a hidden
// temporary directory inside root and fsynced, and the directory is then renamed to
// root/<version>: a bundle is either wholly there or not there. An existing version is never
// overwritten.
func Save(root string, b Bundle) (string, error) {
	dir, err := save(root, b)
	if err != nil {
		return "", fmt.Errorf("save model under %s: %w", root, err)
	}
	return dir, nil
}

func save(root string, b Bundle) (string, error) {
	man := b.Manifest
	man.FormatVersion = FormatVersion
	if len(man.Features) == 0 {
		man.Features = fraud.FeatureNames()
	}
	if man.CreatedAt.IsZero() {
		return "", errors.New("manifest created_at is not set")
	}
	man.CreatedAt = man.CreatedAt.UTC()
	man.Canaries = slices.Clone(man.Canaries)
	files := make(map[string][]byte, len(b.Files)+1)
	for name, data := range b.Files {
		if err := checkFileName(name); err != nil {
			return "", err
		}
		if name == ManifestFile {
			return "", fmt.Errorf("file %s is written by Save", ManifestFile)
		}
		files[name] = data
	}
	if man.Reference != nil {
		return "", errors.New("manifest reference is written by Save from the bundle's reference sample")
	}
	if b.Reference != nil {
		if _, ok := files[ReferenceFile]; ok {
			return "", fmt.Errorf("file %s is written by Save from the bundle's reference sample", ReferenceFile)
		}
		if err := b.Reference.check(); err != nil {
			return "", err
		}
		data, err := b.Reference.marshal()
		if err != nil {
			return "", err
		}
		files[ReferenceFile] = data
	}
	m, err := build(man, files)
	if err != nil {
		return "", err
	}
	if len(man.Canaries) == 0 {
		return "", fmt.Errorf("%s: no canaries", ManifestFile)
	}
	if b.Reference != nil {
		if err := m.ExplainError(); err != nil {
			return "", fmt.Errorf("reference sample: mean |SHAP| needs explanations: %w", err)
		}
		mean, err := meanAbsSHAP(m, b.Reference)
		if err != nil {
			return "", fmt.Errorf("reference sample: %w", err)
		}
		man.Reference = &ReferenceInfo{File: ReferenceFile, Rows: len(b.Reference.Rows), Description: b.Reference.Description, MeanAbsSHAP: mean}
		if err := checkReference(man, files); err != nil {
			return "", err
		}
	}
	man.FormatVersion = formatNeeded(man, m.importance)
	for i := range man.Canaries {
		man.Canaries[i].Probability = m.Probability(&man.Canaries[i].Features)
	}
	if man.Version == "" {
		data, err := MarshalManifest(man)
		if err != nil {
			return "", err
		}
		files[ManifestFile] = data
		man.Version = man.CreatedAt.Format(VersionTimeLayout) + "-" + digestFiles(files)[:8]
	}
	if err := CheckVersion(man.Version); err != nil {
		return "", err
	}
	data, err := MarshalManifest(man)
	if err != nil {
		return "", err
	}
	files[ManifestFile] = data

	names := make([]string, 0, len(files))
	for n := range files {
		if n != ManifestFile {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	out := make([]atomicfile.File, 0, len(files))
	for _, n := range append(names, ManifestFile) { // the manifest last
		out = append(out, atomicfile.File{Name: n, Data: files[n], Perm: 0o644})
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	final := filepath.Join(root, man.Version)
	if err := atomicfile.CreateDir(final, 0o755, out); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("version %s already exists", man.Version)
		}
		return "", err
	}
	return final, nil
}

// MarshalManifest encodes man as Save writes it: JSON indented by two spaces, without HTML
// escaping, ending in a newline.
func MarshalManifest(man Manifest) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(man); err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// LoadLatest loads a bundle from root. With version "" it loads the newest bundle by created_at
// (ties broken by the greater directory name) among root's subdirectories that hold a
// manifest.json; hidden directories (Save's temporary ones) are ignored. With a version it loads
// root/<version>.
func LoadLatest(root, version string) (*Model, error) {
	if version != "" {
		if err := CheckVersion(version); err != nil {
			return nil, fmt.Errorf("load model from %s: %w", root, err)
		}
		dir := filepath.Join(root, version)
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("load model from %s: version %q not found (no %s)", root, version, filepath.Join(dir, ManifestFile))
		}
		return Load(dir)
	}
	dir, err := latest(root)
	if err != nil {
		return nil, fmt.Errorf("load model from %s: %w", root, err)
	}
	return Load(dir)
}

func latest(root string) (string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	var (
		best     string
		bestTime time.Time
	)
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, e.Name(), ManifestFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		var head struct {
			CreatedAt time.Time `json:"created_at"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Join(e.Name(), ManifestFile), err)
		}
		if best == "" || head.CreatedAt.After(bestTime) || (head.CreatedAt.Equal(bestTime) && e.Name() > best) {
			best, bestTime = e.Name(), head.CreatedAt
		}
	}
	if best == "" {
		return "", errors.New("no model bundle: no subdirectory holds a " + ManifestFile)
	}
	return filepath.Join(root, best), nil
}
