package wire

// TransactionRequest is the wire form of a transaction. It is the single source of truth for the
// request contract: the strict decoder of /predict and the OpenAPI document are both built from
// its fields and tags. Numeric fields appear in creditcard.csv order, which is also the order of
// the server's feature vector (fraud.Transaction.Features).
//
// Tags: json (the field name), required, minimum/maximum (inclusive bounds), minLength,
// maxLength and pattern (strings), doc (a description) and example.
type TransactionRequest struct {
	TransactionID string  `json:"transaction_id,omitempty" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9_.:-]{1,64}$" doc:"Caller's identifier for the transaction, echoed in the answer; generated when absent." example:"txn-0001"`
	Time          float64 `json:"Time" required:"true" minimum:"0" doc:"Seconds elapsed since the first transaction of the data set." example:"0"`
	V1            float64 `json:"V1" required:"true" doc:"PCA component 1." example:"-1.3598071336738"`
	V2            float64 `json:"V2" required:"true" doc:"PCA component 2." example:"-0.0727811733098497"`
	V3            float64 `json:"V3" required:"true" doc:"PCA component 3." example:"2.53634673796914"`
	V4            float64 `json:"V4" required:"true" doc:"PCA component 4." example:"1.37815522427443"`
	V5            float64 `json:"V5" required:"true" doc:"PCA component 5." example:"-0.338320769942518"`
	V6            float64 `json:"V6" required:"true" doc:"PCA component 6." example:"0.462387777762292"`
	V7            float64 `json:"V7" required:"true" doc:"PCA component 7." example:"0.239598554061257"`
	V8            float64 `json:"V8" required:"true" doc:"PCA component 8." example:"0.0986979012610507"`
	V9            float64 `json:"V9" required:"true" doc:"PCA component 9." example:"0.363786969611213"`
	V10           float64 `json:"V10" required:"true" doc:"PCA component 10." example:"0.0907941719789316"`
	V11           float64 `json:"V11" required:"true" doc:"PCA component 11." example:"-0.551599533260813"`
	V12           float64 `json:"V12" required:"true" doc:"PCA component 12." example:"-0.617800855762348"`
	V13           float64 `json:"V13" required:"true" doc:"PCA component 13." example:"-0.991389847235408"`
	V14           float64 `json:"V14" required:"true" doc:"PCA component 14." example:"-0.311169353699879"`
	V15           float64 `json:"V15" required:"true" doc:"PCA component 15." example:"1.46817697209427"`
	V16           float64 `json:"V16" required:"true" doc:"PCA component 16." example:"-0.470400525259478"`
	V17           float64 `json:"V17" required:"true" doc:"PCA component 17." example:"0.207971241929242"`
	V18           float64 `json:"V18" required:"true" doc:"PCA component 18." example:"0.0257905801985591"`
	V19           float64 `json:"V19" required:"true" doc:"PCA component 19." example:"0.403992960255733"`
	V20           float64 `json:"V20" required:"true" doc:"PCA component 20." example:"0.251412098239705"`
	V21           float64 `json:"V21" required:"true" doc:"PCA component 21." example:"-0.018306777944153"`
	V22           float64 `json:"V22" required:"true" doc:"PCA component 22." example:"0.277837575558899"`
	V23           float64 `json:"V23" required:"true" doc:"PCA component 23." example:"-0.110473910188767"`
	V24           float64 `json:"V24" required:"true" doc:"PCA component 24." example:"0.0669280749146731"`
	V25           float64 `json:"V25" required:"true" doc:"PCA component 25." example:"0.128539358273528"`
	V26           float64 `json:"V26" required:"true" doc:"PCA component 26." example:"-0.189114843888824"`
	V27           float64 `json:"V27" required:"true" doc:"PCA component 27." example:"0.133558376740387"`
	V28           float64 `json:"V28" required:"true" doc:"PCA component 28." example:"-0.0210530534538215"`
	Amount        float64 `json:"Amount" required:"true" minimum:"0" maximum:"100000" doc:"Transaction amount." example:"149.62"`
}
