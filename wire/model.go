package wire

import "time"

// ModelInfoResponse is the answer of GET /models/info.
type ModelInfoResponse struct {
	Name      string     `json:"name" doc:"Model name." example:"default"`
	Version   string     `json:"version" doc:"Bundle version." example:"20261126-000000-1a2b3c4d"`
	Kind      string     `json:"kind" doc:"Model kind, such as logreg." example:"logreg"`
	Features  []string   `json:"features" doc:"Feature names in the order the model reads them."`
	Threshold float64    `json:"threshold" minimum:"0" maximum:"1" doc:"Decision threshold." example:"0.5"`
	CreatedAt time.Time  `json:"created_at" doc:"When the bundle was made."`
	Metrics   Evaluation `json:"metrics" doc:"Training and validation metrics stored in the bundle."`
	SHA256    string     `json:"sha256" doc:"SHA-256 of the bundle's content." example:"1a2b3c4d..."`
	LoadedAt  time.Time  `json:"loaded_at" doc:"When this server loaded the bundle."`
	// Importance is absent when the bundle holds neither a reference sample nor split gains.
	Importance   *ModelImportance `json:"importance,omitempty" doc:"Global feature importance: mean |SHAP| over the bundle's reference sample and the trees' split gain. Absent when the bundle has neither (a logistic regression without a reference sample, or a bundle written before they were kept)."`
	Explanations ExplanationsInfo `json:"explanations" doc:"Whether the model can explain its scores (explain: true on /predict and /predict/batch, explain=true on POST /batch)."`
	// Versions lists every bundle under MODEL_PATH.
	Versions []ModelVersion `json:"versions" doc:"Every bundle under MODEL_PATH, newest first by created_at; the live one has active: true."`
}

// ModelVersion is one bundle under MODEL_PATH, as GET /models/info lists it.
type ModelVersion struct {
	Version   string     `json:"version" doc:"Bundle version (its directory name)." example:"20261126-000000-1a2b3c4d"`
	Name      string     `json:"name" doc:"Model name."`
	Kind      string     `json:"kind" doc:"Model kind, such as logreg."`
	CreatedAt time.Time  `json:"created_at" doc:"When the bundle was made."`
	SHA256    string     `json:"sha256" doc:"SHA-256 of the bundle's content."`
	Metrics   Evaluation `json:"metrics" doc:"Training and validation metrics stored in the bundle."`
	Loaded    bool       `json:"loaded" doc:"Whether the model is held in memory (the live one, the shadow or challenger, and with ENABLE_MODEL_CACHING=true every version loaded since start-up)."`
	Active    bool       `json:"active" doc:"Whether it is the live model."`
	LoadedAt  *time.Time `json:"loaded_at" doc:"When it was loaded; null when it is not in memory."`
	Requests  int64      `json:"requests" doc:"Transactions it answered since it was loaded."`
	Warnings  []string   `json:"warnings,omitempty" doc:"What its checks let through, such as a bundle without canary rows."`
	Error     string     `json:"error,omitempty" doc:"Why its manifest cannot be read; such a bundle cannot be activated."`
}

// ActivateRequest is the body of POST /models/activate.
type ActivateRequest struct {
	Version string `json:"version" required:"true" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9_][A-Za-z0-9_.-]*$" doc:"The version to make live: a directory under MODEL_PATH." example:"20261126-000000-1a2b3c4d"`
}

// ModelChangeResponse is the answer of POST /models/activate and POST /models/rollback: the
// model now live.
type ModelChangeResponse struct {
	Status   string       `json:"status" enum:"activated,rolled_back" doc:"What was done."`
	Previous string       `json:"previous" doc:"The version live before."`
	Model    ModelVersion `json:"model" doc:"The model now live, as GET /models/info's versions list it."`
	Warnings []string     `json:"warnings,omitempty" doc:"What the checks let through, such as a bundle without canary rows."`
}

// ModelImportance is a model's global feature importance.
type ModelImportance struct {
	ReferenceRows int                 `json:"reference_rows" minimum:"0" doc:"Rows of the bundle's reference sample, over which mean_abs_shap was measured; 0 when the bundle has none, and mean_abs_shap is then absent." example:"500"`
	Features      []FeatureImportance `json:"features" doc:"Every feature, largest mean_abs_shap first; without a reference sample, largest split_gain first. Ties in feature order (Time, V1..V28, Amount)."`
}

// FeatureImportance is one feature's global importance. A measure the model does not have is
// absent (nil), not 0.
type FeatureImportance struct {
	Feature        string   `json:"feature" doc:"The feature's name." example:"V14"`
	MeanAbsSHAP    *float64 `json:"mean_abs_shap,omitempty" minimum:"0" doc:"The feature's mean |SHAP value| in log-odds over the reference sample, the rows weighted as in training (normal rows of a downsampled file standing for many): how far the feature moves a typical margin. Measured when the bundle was written; absent when the bundle has no reference sample." example:"0.41"`
	SplitGain      *float64 `json:"split_gain,omitempty" doc:"The gain of the trees' splits on the feature, summed over every tree of every tree member: how much the feature lowered the training loss, in the units of the library that grew the trees (not comparable across libraries). Absent when no tree records a gain (a logistic regression alone)." example:"120.5"`
	SplitGainShare *float64 `json:"split_gain_share,omitempty" doc:"split_gain as a share of every feature's split_gain; absent with split_gain." example:"0.18"`
}

// ExplanationsInfo says whether a model can explain its scores.
type ExplanationsInfo struct {
	Available bool   `json:"available" doc:"true when the model can explain its scores." example:"true"`
	Reason    string `json:"reason,omitempty" doc:"Why the model cannot explain its scores, such as a tree without node covers; absent when available." example:"the model cannot be explained: explain member trees.json: a tree has no node covers, which exact explanations need: tree 0, node 0 has cover 0"`
}

// Evaluation holds a model's figures on its training and validation splits. It is also the
// metrics section of a model bundle's manifest.
type Evaluation struct {
	// Training is measured on the rows the model was fitted on.
	Training Metrics `json:"training"`
	// Validation is measured on held-out rows, later in time than the training rows.
	Validation Metrics `json:"validation"`
	// ValidationModel says which model Validation measured: the shipped one, or, for a model
	// refitted on every row after its choices were made (Training.Refit), the members fitted
	// before the refit, which had not seen those rows.
	ValidationModel string `json:"validation_model,omitempty"`
}

// Metrics are a model's figures on one set of rows. Where rows carry weights (normal rows of a
// downsampled file standing for many real ones), every figure but Rows and Frauds is weighted.
type Metrics struct {
	// Rows and Frauds count the rows, unweighted.
	Rows   int `json:"rows"`
	Frauds int `json:"frauds"`
	// ROCAUC is the area under the ROC curve, ties counting one half.
	ROCAUC float64 `json:"roc_auc"`
	// AUPRC is the average precision: Σ (R_k − R_{k−1}) · P_k over the distinct scores.
	AUPRC float64 `json:"auprc"`
	// RecallAt1PctFPR is the highest recall reached at a false-positive rate of at most 1%.
	RecallAt1PctFPR float64 `json:"recall_at_1pct_fpr"`
	// Precision, Recall and F1 are at the model's threshold.
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// Confusion is the confusion matrix at the threshold.
	Confusion Confusion `json:"confusion"`
}

// Confusion is a confusion matrix. The counts are weighted, hence not always whole numbers.
type Confusion struct {
	// TP counts frauds flagged, FP normals flagged, TN normals passed and FN frauds passed.
	TP float64 `json:"tp"`
	FP float64 `json:"fp"`
	TN float64 `json:"tn"`
	FN float64 `json:"fn"`
}

// ReloadResponse is the answer of the reload routes.
type ReloadResponse struct {
	Status  string `json:"status" enum:"reloaded" doc:"reloaded."`
	Version string `json:"version,omitempty" doc:"The model version now live (model reload only)."`
}

// CompareResponse is the answer of GET /models/compare: the live model against the shadow or
// challenger over the transactions both scored in [since, until).
type CompareResponse struct {
	Mode             string         `json:"mode" enum:"shadow,challenger" doc:"shadow: SHADOW_MODEL_VERSION scores every transaction off the hot path; challenger: CHALLENGER_MODEL_VERSION answers CHALLENGER_SHARE percent of them, and each transaction is scored by the other model too."`
	Since            time.Time      `json:"since" doc:"Start of the window (inclusive)."`
	Until            time.Time      `json:"until" doc:"End of the window (exclusive)."`
	RetainedSince    time.Time      `json:"retained_since" doc:"The oldest time still kept in memory: a window before it is cut to it."`
	LiveVersions     []string       `json:"live_versions" doc:"The live (champion) model versions seen in the window."`
	OtherVersions    []string       `json:"other_versions" doc:"The shadow or challenger versions seen in the window."`
	Transactions     int            `json:"transactions" doc:"Transactions scored by both models in the window."`
	AnsweredByOther  int            `json:"answered_by_other" doc:"Of those, how many the challenger answered (0 in shadow mode)."`
	LiveFlagRate     float64        `json:"live_flag_rate" doc:"Share of the transactions the live model flags as fraud (0 to 1)."`
	OtherFlagRate    float64        `json:"other_flag_rate" doc:"Share the shadow or challenger flags."`
	AgreementRate    float64        `json:"agreement_rate" doc:"Share on which both models take the same decision."`
	ScoreCorrelation *float64       `json:"score_correlation" doc:"Pearson correlation of the two models' probabilities; null with fewer than two distinct scores."`
	Dropped          int64          `json:"dropped" doc:"Transactions not scored a second time since start-up because the queue was full (fraudguard_shadow_dropped_total)."`
	TopDisagreements []Disagreement `json:"top_disagreements" doc:"The transactions on which the probabilities differ most, largest first."`
}

// Disagreement is one transaction on which the two models differ.
type Disagreement struct {
	TransactionID    string    `json:"transaction_id"`
	Time             time.Time `json:"time" doc:"When it was scored a second time."`
	AnsweredBy       string    `json:"answered_by" enum:"live,shadow,challenger" doc:"Which model's score the client was given."`
	LiveVersion      string    `json:"live_version"`
	LiveProbability  float64   `json:"live_probability"`
	LiveIsFraud      bool      `json:"live_is_fraud"`
	OtherVersion     string    `json:"other_version"`
	OtherProbability float64   `json:"other_probability"`
	OtherIsFraud     bool      `json:"other_is_fraud"`
	Difference       float64   `json:"difference" doc:"|live_probability − other_probability|."`
}
