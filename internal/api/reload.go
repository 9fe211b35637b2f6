package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/wire"
)

// What asked for a reload, as recorded in its audit event (detail "trigger=...").
const (
	// TriggerHTTP is POST /models/reload or POST /security/keys/reload.
	TriggerHTTP = "http"
	// TriggerSignal is SIGHUP, which reloads the keys and the model.
	TriggerSignal = "SIGHUP"
	// TriggerWatch is a change in MODEL_PATH seen with MODEL_WATCH=true.
	TriggerWatch = "watch"
)

// There is one reload per kind of thing, whatever asks for it: ReloadKeys and ReloadModel are
// what the HTTP routes and SIGHUP (Reload) both call. Each attempt is counted
// (fraudguard_key_reloads_total, fraudguard_model_reloads_total, and the last-success time on
// success) and audited as one event of the same shape for every trigger: action keys_reload or
// model_reload, outcome success or failure, and detail "trigger=<trigger>" followed by
// "version=<version>" (a model loaded) or "error=<why>" (a failure, which keeps the old state).
// Over HTTP the event also has the request id, client address and key name.

// reloadOrigin is who asked for a reload.
type reloadOrigin struct {
	trigger   string
	requestID string
	clientIP  string
	keyName   string
}

// errNoKeysFile answers a keys reload when there is no keys file; it is neither counted nor
// audited, since nothing was tried.
func errNoKeysFile() error {
	return &fraud.Error{Code: fraud.CodeConflict, Message: "no API_KEYS_FILE is configured: there is nothing to reload"}
}

// errNoModelReload answers a model reload when the server has no Reloader.
func errNoModelReload() error {
	return &fraud.Error{Code: fraud.CodeServiceUnavailable, Message: "model reload is not available"}
}

// ReloadKeys re-reads API_KEYS_FILE and, if it is valid, puts its keys in force; if it is not,
// the old keys stay in force and the error (a *fraud.Error, 422) says why. Without a keys file
// it returns a 409 *fraud.Error and records nothing. trigger is recorded in the audit event.
func (s *Server) ReloadKeys(ctx context.Context, trigger string) error {
	return s.reloadKeys(ctx, reloadOrigin{trigger: trigger})
}

// ReloadModel loads the newest model bundle (or MODEL_VERSION) and makes it live; if it fails,
// the old model stays live and the error (a *fraud.Error, 422) says why. trigger is recorded in
// the audit event.
func (s *Server) ReloadModel(ctx context.Context, trigger string) (*model.Model, error) {
	return s.reloadModel(ctx, reloadOrigin{trigger: trigger})
}

// Reload reloads the keys (when there is a keys file) and the model (when the server can), each
// on its own: a bad keys file does not stop the model reload. It is what SIGHUP does. The
// errors are joined.
func (s *Server) Reload(ctx context.Context, trigger string) error {
	var errs []error
	if s.guardCfg.HasKeysFile {
		errs = append(errs, s.ReloadKeys(ctx, trigger))
	}
	if s.reloader != nil {
		_, err := s.ReloadModel(ctx, trigger)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ReloadOnSignal calls Reload(ctx, TriggerSignal) for every value received on sig, until ctx
// ends. The service passes it the channel that signal.Notify feeds with SIGHUP.
func (s *Server) ReloadOnSignal(ctx context.Context, sig <-chan os.Signal) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sig:
			if err := s.Reload(ctx, TriggerSignal); err != nil {
				s.logger.Warn("reload on SIGHUP failed; the old state stays", "error", err.Error())
			} else {
				s.logger.Info("reloaded on SIGHUP")
			}
		}
	}
}

func (s *Server) reloadKeys(ctx context.Context, o reloadOrigin) error {
	g := &s.guardCfg
	if !g.HasKeysFile || g.ReloadKeys == nil {
		return errNoKeysFile()
	}
	err := g.ReloadKeys()
	if s.metrics != nil {
		s.metrics.KeysReloaded(err == nil)
	}
	s.auditReload(ctx, fraud.ActionKeysReload, o, "", err)
	if err != nil {
		return &fraud.Error{Code: fraud.CodeUnprocessableEntity, Message: "the keys file is invalid; the old keys stay in force: " + err.Error()}
	}
	return nil
}

func (s *Server) reloadModel(ctx context.Context, o reloadOrigin) (*model.Model, error) {
	if s.reloader == nil {
		return nil, errNoModelReload()
	}
	return s.changeModel(ctx, fraud.ActionModelReload, o, "", func(ctx context.Context, by model.Actor) (*model.Model, error) {
		return s.reloader.Reload(ctx, by)
	})
}

// changeModel is the one path of every change of the live model (reload, activate,
// rollback), whatever asked for it: the change itself, then the count in
// fraudguard_model_reloads_total, the live-model gauge and the audit event. A failure that is
// not already a *fraud.Error (a bundle that fails its checks) becomes a 422 saying why; the
// old model stays live in every case.
func (s *Server) changeModel(ctx context.Context, action string, o reloadOrigin, asked string, change func(context.Context, model.Actor) (*model.Model, error)) (*model.Model, error) {
	prev := ""
	if cur := s.models.Current(); cur != nil {
		prev = cur.Version()
	}
	m, err := change(ctx, model.Actor{Trigger: o.trigger, KeyName: o.keyName, RequestID: o.requestID})
	if s.metrics != nil {
		s.metrics.ModelReloaded(err == nil)
		if err == nil {
			s.metrics.SetModel(m.Version(), m.Manifest.Kind)
		}
	}
	result := asked
	if err == nil {
		result = strings.TrimSpace(asked + " version=" + m.Version() + " previous=" + prev)
	}
	s.auditReload(ctx, action, o, result, err)
	if err != nil {
		var fe *fraud.Error
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, &fraud.Error{Code: fraud.CodeUnprocessableEntity, Message: "the model could not be loaded; the old model stays live: " + err.Error()}
	}
	return m, nil
}

// auditReload records one reload: the same event for every trigger.
func (s *Server) auditReload(ctx context.Context, action string, o reloadOrigin, result string, err error) {
	if s.guardCfg.Audit == nil {
		return
	}
	e := fraud.AuditEvent{
		RequestID: o.requestID,
		ClientIP:  o.clientIP,
		KeyName:   o.keyName,
		Action:    action,
		Outcome:   fraud.OutcomeSuccess,
		Detail:    "trigger=" + o.trigger,
	}
	if err != nil {
		e.Outcome, result = fraud.OutcomeFailure, strings.TrimSpace(result+" error="+err.Error())
	}
	if result != "" {
		e.Detail += " " + result
	}
	s.guardCfg.Audit.Record(ctx, e)
}

// httpOrigin is the origin of a reload asked for by request r.
func httpOrigin(r *http.Request, w http.ResponseWriter) reloadOrigin {
	st := stateOf(w)
	o := reloadOrigin{trigger: TriggerHTTP, requestID: requestID(w), clientIP: st.clientKeyIP()}
	if st.hasKey {
		o.keyName = st.key.Name
	}
	return o
}

func (s *Server) handleKeysReload(w http.ResponseWriter, r *http.Request) {
	if err := s.reloadKeys(r.Context(), httpOrigin(r, w)); err != nil {
		s.errs.write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.ReloadResponse{Status: "reloaded"})
}

func (s *Server) handleModelReload(w http.ResponseWriter, r *http.Request) {
	m, err := s.reloadModel(r.Context(), httpOrigin(r, w))
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.ReloadResponse{Status: "reloaded", Version: m.Version()})
}
