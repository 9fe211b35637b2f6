package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

func callKey(t testing.TB, method, url, key, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeWithKeys runs the service with a keys file and a generated admin key, as an
// operator would set it up.
func TestServeWithKeys(t *testing.T) {
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys.yaml")
	scoring := mustCreateKey(t, "--name", "checkout", "--scopes", "predict", "--file", keysFile)
	dataDir := filepath.Join(dir, "data")
	s := mustServe(t, map[string]string{"API_KEYS_FILE": keysFile, "DATA_DIR": dataDir})

	if got := callKey(t, "POST", s.url+"/predict", "", firstTransaction); got != 401 {
		t.Errorf("predict without key: got %d, want 401", got)
	}
	if got := callKey(t, "POST", s.url+"/predict", scoring, firstTransaction); got != 200 {
		t.Errorf("predict with key: got %d, want 200", got)
	}
	if got := callKey(t, "GET", s.url+"/security/audit", scoring, ""); got != 403 {
		t.Errorf("audit with a predict key: got %d, want 403", got)
	}

	// The admin key was generated into DATA_DIR with 0600 and is never logged.
	path := filepath.Join(dataDir, "admin.key")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("admin.key mode %v, want 0600", st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	if strings.Contains(s.logs.String(), admin) || strings.Contains(s.logs.String(), scoring) {
		t.Error("a key appears in the log")
	}
	if !strings.Contains(s.logs.String(), path) {
		t.Error("the log does not say where the admin key is")
	}
	if got := callKey(t, "GET", s.url+"/security/audit", admin, ""); got != 200 {
		t.Errorf("audit with the admin key: got %d, want 200", got)
	}

	// A key added to the file works after SIGHUP, without a restart.
	batch := mustCreateKey(t, "--name", "risk", "--scopes", "predict,batch", "--file", keysFile)
	if got := callKey(t, "POST", s.url+"/predict", batch, firstTransaction); got != 401 {
		t.Errorf("new key before reload: got %d, want 401", got)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for callKey(t, "POST", s.url+"/predict", batch, firstTransaction) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("new key not accepted after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And through the admin route.
	if got := callKey(t, "POST", s.url+"/security/keys/reload", admin, ""); got != 200 {
		t.Errorf("keys reload: got %d, want 200", got)
	}
	// SIGHUP reloaded the model too; both triggers are audited alike and counted.
	for _, want := range []string{"keys_reload", "model_reload"} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, body := call(t, "GET", s.url+"/security/audit?action="+want, "", "", "X-API-Key", admin)
			evs, _ := body["events"].([]any)
			var details []string
			for _, e := range evs {
				d, _ := e.(map[string]any)["detail"].(string)
				details = append(details, d)
			}
			joined := strings.Join(details, "\n")
			if strings.Contains(joined, "trigger=SIGHUP") && (want == "model_reload" || strings.Contains(joined, "trigger=http")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s events: got %q, want one by SIGHUP (and one over HTTP for keys)", want, details)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	resp, err := http.DefaultClient.Do(mustRequest(t, "GET", s.url+"/metrics", admin))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`fraudguard_key_reloads_total{outcome="success"} 2`, `fraudguard_model_reloads_total{outcome="success"} 1`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func mustRequest(t testing.TB, method, url, key string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", key)
	return req
}

func TestServeRejectsBadKeysFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(bad, []byte("keys:\n  - name: x\n    sha256: nothex\n    scopes: [predict]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MODEL_PATH": shippedModels(t), "DATA_DIR": t.TempDir(), "API_KEYS_FILE": bad}
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--api-port", "0"}, func(k string) string { return env[k] }, nil, io.Discard, &stderr)
	if code := exitCode(err, &stderr); code != 2 || !strings.Contains(stderr.String(), "API_KEYS_FILE") || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
		t.Errorf("got exit %d, stderr %q; want 2 and one line naming API_KEYS_FILE", code, stderr.String())
	}
}

// mustSelfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func mustSelfSigned(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServeTLS serves HTTPS with HTTPS_ONLY and checks TLS 1.2+, HSTS and the refusal of TLS 1.1.
func TestServeTLS(t *testing.T) {
	cert, key := mustSelfSigned(t, t.TempDir())
	s := mustServeTLS(t, map[string]string{"TLS_CERT_FILE": cert, "TLS_KEY_FILE": key, "HTTPS_ONLY": "true"})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(s + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age") {
		t.Errorf("got %d over %v, HSTS %q", resp.StatusCode, resp.TLS, resp.Header.Get("Strict-Transport-Security"))
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(s + "/health"); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 client was served")
	}
}

// mustServeTLS starts serve with TLS and returns its https URL once it answers.
func mustServeTLS(t testing.TB, env map[string]string) string {
	t.Helper()
	env["MODEL_PATH"] = shippedModels(t)
	env["DATA_DIR"] = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &sharedtest.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--api-host", "127.0.0.1", "--api-port", "0"}, func(k string) string { return env[k] }, nil, logs, io.Discard)
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if i := strings.Index(logs.String(), `"msg":"listening"`); i >= 0 {
			line := logs.String()[i:]
			a := strings.Index(line, `"addr":"`) + len(`"addr":"`)
			return "https://" + line[a:a+strings.IndexByte(line[a:], '"')]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("TLS server did not start:\n%s", logs)
	return ""
}

// TestServeRefusesHostileUpload posts a background job whose CSV carries an injection in a
// transaction_id: the upload is refused as an attack and no job is kept.
func TestServeRefusesHostileUpload(t *testing.T) {
	s := mustServe(t, nil)
	header := "transaction_id,Time," + strings.Join(func() []string {
		var v []string
		for i := 1; i <= 28; i++ {
			v = append(v, fmt.Sprintf("V%d", i))
		}
		return v
	}(), ",") + ",Amount\n"
	row := strings.Repeat("0.5,", 29) + "10\n"
	body := header + "ok-1," + row + `"x' OR 1=1--",` + row
	resp, b := call(t, "POST", s.url+"/batch", "text/csv", body)
	if resp.StatusCode != 403 || b["error_code"] != "SUSPICIOUS_REQUEST" {
		t.Fatalf("got %d %v, want 403 SUSPICIOUS_REQUEST", resp.StatusCode, b)
	}
	_, list := call(t, "GET", s.url+"/batch", "", "")
	if jobs, _ := list["jobs"].([]any); len(jobs) != 0 || list["total"] != 0.0 {
		t.Errorf("a refused upload left jobs: %v", list)
	}
}
