package scoring

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/wire"
)

// Submit sends f, a CSV file of transactions, to the server as a new batch job, gzipped on
// the fly while it is read; with explain, the job's results carry reasons. sent, when not nil,
// is told the bytes of f read so far.
func Submit(ctx context.Context, c *client.Client, f io.Reader, explain bool, sent func(n int64)) (*client.Submitted, error) {
	if sent == nil {
		sent = func(int64) {}
	}
	pr, pw := io.Pipe()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		_, err := io.Copy(zw, &countingReader{r: f, report: sent})
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err) // nil: the body ends
	}()
	sub, err := c.SubmitBatch(ctx, pr, client.SubmitOptions{ContentType: "text/csv", ContentEncoding: "gzip", Explain: explain})
	// The server may answer before it has read everything (to refuse the upload, say).
	pr.CloseWithError(errors.New("upload stopped"))
	<-copied
	return sub, err
}

// countingReader reports how many bytes have been read so far.
type countingReader struct {
	r      io.Reader
	n      int64
	report func(n int64)
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n += int64(n)
	cr.report(cr.n)
	return n, err
}

// Outcome tells from a job's status whether the job has finished, and if it did not complete,
// why.
func Outcome(st *wire.BatchStatusResponse) (bool, error) {
	switch st.Status {
	case wire.JobCompleted:
		return true, nil
	case wire.JobFailed:
		msg := "no reason given"
		if st.Error != nil && *st.Error != "" {
			msg = *st.Error
		}
		return true, fmt.Errorf("the job failed on the server: %s", msg)
	case wire.JobCancelled:
		return true, errors.New("the job was cancelled on the server")
	}
	return false, nil
}
