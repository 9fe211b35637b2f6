package sharedtest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB whose Fatalf records the message and ends the goroutine, as the
// real one does, so that a helper's failure can be observed.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs f with a recorder in its own goroutine and returns what it failed with ("" when it
// did not fail).
func call(t *testing.T, f func(tb testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failed
}

func TestMissingFileFails(t *testing.T) {
	tests := []struct {
		name string
		f    func(tb testing.TB)
		want string
	}{
		{"vector", func(tb testing.TB) { Testdata(tb, "xgboost", "absent.json") }, "absent.json"},
		{"data", func(tb testing.TB) { Data(tb, "absent.csv") }, "absent.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := call(t, tc.f); !strings.Contains(got, tc.want) {
				t.Errorf("failure %q, want one naming %q", got, tc.want)
			}
		})
	}
}

// TestVectorsPresent checks that every file the parity tests read is in the repository.
func TestVectorsPresent(t *testing.T) {
	for _, model := range []string{"gbtree-depth4", "gbtree-missing", "gbtree-scaleposweight"} {
		for _, ext := range []string{".json", ".ubj", ".vectors.json"} {
			if got := call(t, func(tb testing.TB) { Testdata(tb, "xgboost", model+ext) }); got != "" {
				t.Error(got)
			}
		}
	}
	for _, name := range []string{"lg_breast_cancer.txt", "lg_breast_cancer_data.txt", "lg_breast_cancer_data_pred_leaves.txt",
		"lg_dart_breast_cancer.model", "lg_dart_breast_cancer_true_predictions.txt", "breast_cancer_test.tsv", "model_simple.txt"} {
		if got := call(t, func(tb testing.TB) { Testdata(tb, "lightgbm", name) }); got != "" {
			t.Error(got)
		}
	}
}
