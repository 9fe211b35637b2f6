package batch

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/security/detect"
)

// TestDefaultCPUCap: with MaxCPU left at 0, as serve leaves it, batch work holds at most
// GOMAXPROCS-1 CPUs at once, and one when GOMAXPROCS is 1 (README: "Batch work uses at most
// GOMAXPROCS-1 CPUs at once"). Each upload's parsing is held inside the attack detector,
// which runs under the upload's CPU token; the uploads beyond the cap wait for a token.
// synctest.Wait returns once every upload is either held in the detector or waiting, so the
// count is exact and nothing is timed.
func TestDefaultCPUCap(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			want := max(1, procs-1)
			synctest.Test(t, func(t *testing.T) {
				det := &heldDetector{release: make(chan struct{})}
				s := New(&memJobStore{jobs: map[string]fraud.Job{}}, fixedModel{}, slog.New(slog.DiscardHandler), Options{Detector: det})
				uploads := want + 9
				errs := make(chan error, uploads)
				body := csvHeader(true) + csvLine(1, true)
				for range uploads {
					go func() {
						_, _, err := s.Submit(context.Background(), strings.NewReader(body), fraud.JobUpload{ContentType: "text/csv"})
						errs <- err
					}()
				}
				synctest.Wait()
				if got := det.held.Load(); got != int64(want) {
					t.Errorf("uploads parsing at once: got %d of %d, want %d", got, uploads, want)
				}
				close(det.release)
				for range uploads {
					if err := <-errs; err != nil {
						t.Errorf("upload: %v", err)
					}
				}
				if got := det.held.Load(); got != int64(uploads) {
					t.Errorf("uploads parsed in all: got %d, want %d", got, uploads)
				}
			})
		})
	}
}

// heldDetector holds every inspection until release is closed, and finds nothing.
type heldDetector struct {
	held    atomic.Int64
	release chan struct{}
}

func (d *heldDetector) InspectString(string, string) (detect.Finding, bool) {
	d.held.Add(1)
	<-d.release
	return detect.Finding{}, false
}

// memJobStore keeps uploads in memory: enough of a fraud.JobStore for Submit.
type memJobStore struct {
	fraud.JobStore // the rest is not called
	mu             sync.Mutex
	jobs           map[string]fraud.Job
}

func (m *memJobStore) CreateJob(_ context.Context, j fraud.Job) (fraud.Job, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j.Status = fraud.JobReceiving
	m.jobs[j.ID] = j
	return j, false, nil
}

func (m *memJobStore) AddChunk(context.Context, string, fraud.ChunkInput) error { return nil }

func (m *memJobStore) SubmitJob(_ context.Context, id string, total int64, chunks int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[id]
	j.Status, j.Total, j.Chunks = fraud.JobQueued, total, chunks
	m.jobs[id] = j
	return nil
}

func (m *memJobStore) Job(_ context.Context, id string) (fraud.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.jobs[id], nil
}

func (m *memJobStore) DeleteJob(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.jobs, id)
	return nil
}
