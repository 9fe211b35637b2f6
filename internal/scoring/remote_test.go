package scoring

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/wire"
)

func TestOutcome(t *testing.T) {
	tests := []struct {
		name   string
		status string
		done   bool
		want   string // in the error; "" for none
	}{
		{"queued", `{"status":"queued","error":null}`, false, ""},
		{"running", `{"status":"running"}`, false, ""},
		{"completed", `{"status":"completed","error":null}`, true, ""},
		{"failed with a reason", `{"status":"failed","error":"the store is full"}`, true, "the job failed on the server: the store is full"},
		{"failed without a reason", `{"status":"failed","error":null}`, true, "no reason given"},
		{"cancelled", `{"status":"cancelled"}`, true, "the job was cancelled on the server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st wire.BatchStatusResponse
			if err := json.Unmarshal([]byte(tc.status), &st); err != nil {
				t.Fatal(err)
			}
			done, err := Outcome(&st)
			if done != tc.done {
				t.Errorf("done: got %t, want %t", done, tc.done)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
