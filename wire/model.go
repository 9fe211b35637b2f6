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
