// Package leaderapi is the leader's JSON HTTP API: workers, experiments and
// their assignments, jobs and scripts on units (sent to each unit's daemon
// through a Dispatcher), settings changes (published over MQTT), logs, time
// series for charts, CSV exports and the audit trail. Paths, bodies and
// replies follow upstream Pioreactor's leader where it has the endpoint
// (docs/leader-api.md lists them and the differences).
//
// Every state-changing request (POST, PUT, PATCH, DELETE) needs
// "Authorization: Bearer <token>", checked through Tokens; each change it
// makes is recorded in the audit_log table under the token's name.
package leaderapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/pubsub"
)

// Dispatcher sends a request to the daemons of units and returns one reply
// per unit (an unreachable unit's reply says so; it is not an error).
type Dispatcher interface {
	SendAll(ctx context.Context, units []string, req cluster.Request) []cluster.Reply
}

// Tokens names the holder of an API token.
type Tokens interface {
	Name(token string) (name string, ok bool)
}

// Options are what the API works with. DB, Client, Dispatcher and Tokens are
// required.
type Options struct {
	// DB is the leader's database (dbstream.Open): the API adds its tables.
	DB *sql.DB
	// Client publishes settings changes, logs and assignments.
	Client pubsub.Client
	// Dispatcher sends run, run-script, kill and status to units' daemons.
	Dispatcher Dispatcher
	// Tokens checks the bearer token of state-changing requests.
	Tokens Tokens
	// Now is the leader's clock (default time.Now).
	Now func() time.Time
	// Log gets one line per failed task or database error (default: discard).
	Log *slog.Logger
	// Leader is the leader's own unit name, listed by GET /api/units.
	Leader string
	// ExportDir holds the zips of POST /api/datasets/exportable/export
	// (default <temp dir>/pio-exports).
	ExportDir string
	// DispatchTimeout bounds one fan-out to the daemons (default 30 s).
	DispatchTimeout time.Duration
}

// API is the leader's HTTP API; it is an http.Handler.
type API struct {
	db       *sql.DB
	client   pubsub.Client
	dispatch Dispatcher
	tokens   Tokens
	now      func() time.Time
	log      *slog.Logger
	leader   string
	exports  string
	timeout  time.Duration
	mux      *http.ServeMux
	tasks    *taskStore

	wg     sync.WaitGroup // running tasks
	ctx    context.Context
	cancel context.CancelFunc
}

// New checks opts, creates the API's tables in opts.DB and returns the API.
func New(opts Options) (*API, error) {
	switch {
	case opts.DB == nil:
		return nil, errors.New("leaderapi: Options.DB is required")
	case opts.Client == nil:
		return nil, errors.New("leaderapi: Options.Client is required")
	case opts.Dispatcher == nil:
		return nil, errors.New("leaderapi: Options.Dispatcher is required")
	case opts.Tokens == nil:
		return nil, errors.New("leaderapi: Options.Tokens is required")
	}
	if _, err := opts.DB.Exec(Schema); err != nil {
		return nil, fmt.Errorf("leaderapi: create tables: %w", err)
	}
	a := &API{
		db: opts.DB, client: opts.Client, dispatch: opts.Dispatcher, tokens: opts.Tokens,
		now: opts.Now, log: opts.Log, leader: opts.Leader, exports: opts.ExportDir,
		timeout: opts.DispatchTimeout, mux: http.NewServeMux(),
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.exports == "" {
		a.exports = filepath.Join(os.TempDir(), "pio-exports")
	}
	if a.timeout <= 0 {
		a.timeout = 30 * time.Second
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.tasks = newTaskStore()
	a.routes()
	return a, nil
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Close cancels running tasks and waits for them.
func (a *API) Close() {
	a.cancel()
	a.wg.Wait()
}

// handler is an endpoint; who is the token's name for a state change, "" for
// a read.
type handler func(w http.ResponseWriter, r *http.Request, who string)

func (a *API) routes() {
	get := func(p string, h handler) { a.mux.HandleFunc("GET "+p, a.read(h)) }
	write := func(method, p string, h handler) { a.mux.HandleFunc(method+" "+p, a.write(h)) }

	get("/api/units", a.listUnits)
	get("/api/workers", a.listWorkers)
	get("/api/workers/{unit}", a.getWorker)
	write("PUT", "/api/workers", a.putWorker)
	write("DELETE", "/api/workers/{unit}", a.deleteWorker)
	write("PUT", "/api/workers/{unit}/is_active", a.setActive)

	get("/api/experiments", a.listExperiments)
	write("POST", "/api/experiments", a.createExperiment)
	get("/api/experiments/latest", a.latestExperiment)
	get("/api/experiments/{exp}", a.getExperiment)
	write("PATCH", "/api/experiments/{exp}", a.patchExperiment)
	write("DELETE", "/api/experiments/{exp}", a.deleteExperiment)

	get("/api/experiments/{exp}/workers", a.experimentWorkers)
	write("PUT", "/api/experiments/{exp}/workers", a.assignWorker)
	write("DELETE", "/api/experiments/{exp}/workers", a.unassignAll)
	write("DELETE", "/api/experiments/{exp}/workers/{unit}", a.unassignWorker)
	get("/api/workers/{unit}/experiment", a.workerExperiment)
	get("/api/workers/assignments", a.listAssignments)

	for _, m := range []string{"PATCH", "POST"} {
		write(m, "/api/workers/{unit}/jobs/run/job_name/{job}/experiments/{exp}", a.runJob)
		write(m, "/api/units/{unit}/jobs/run/job_name/{job}/experiments/{exp}", a.runJob)
	}
	write("POST", "/api/workers/{unit}/scripts/run/experiments/{exp}", a.runScript)
	write("PATCH", "/api/workers/{unit}/jobs/update/job_name/{job}/experiments/{exp}", a.updateJob)
	for _, m := range []string{"PATCH", "POST"} {
		write(m, "/api/workers/{unit}/jobs/stop/job_name/{job}/experiments/{exp}", a.stopJob)
	}
	write("POST", "/api/workers/{unit}/jobs/stop/experiments/{exp}", a.stopAllJobs)
	get("/api/units/{unit}/jobs/running", a.runningJobs)
	get("/api/workers/{unit}/jobs/running", a.runningJobs)
	get("/unit_api/task_results/{id}", a.taskResult)

	get("/api/logs", a.allLogs)
	get("/api/experiments/{exp}/logs", a.experimentLogs)
	get("/api/experiments/{exp}/recent_logs", a.recentLogs)
	get("/api/units/{unit}/logs", a.unitLogs)
	get("/api/workers/{unit}/experiments/{exp}/logs", a.unitExperimentLogs)
	write("POST", "/api/workers/{unit}/experiments/{exp}/logs", a.postLog)

	get("/api/experiments/{exp}/time_series/{source}", a.timeSeries)
	get("/api/experiments/{exp}/time_series/{table}/{column}", a.genericTimeSeries)

	get("/api/datasets/exportable", a.exportable)
	write("POST", "/api/datasets/exportable/export", a.exportZip)
	get("/exports/{file}", a.serveExport)
	get("/api/experiments/{exp}/export/{file}", a.exportCSV)

	get("/api/audit", a.listAudit)

	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path,
			"", "docs/leader-api.md lists the endpoints")
	})
}
