package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxRecords bounds the requests list_requests remembers.
const maxRecords = 200

// mcpRecord is one request this server made.
type mcpRecord struct {
	RequestID   string       `json:"request_id"`
	App         string       `json:"app"`
	SubmittedAt time.Time    `json:"submitted_at"`
	Status      string       `json:"status"`
	Billing     *billingView `json:"billing,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// track remembers a submitted request and its reservation, so that
// request_result settles the cost of a submit_request.
func (m *mcpServer) track(app, id string, r *reservation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending[id] = r
	m.recent = append(m.recent, &mcpRecord{RequestID: id, App: app, SubmittedAt: time.Now().UTC(), Status: "submitted"})
	if len(m.recent) > maxRecords {
		drop := m.recent[0]
		m.recent = m.recent[1:]
		delete(m.pending, drop.RequestID)
	}
}

// setRecord updates a request this server made; others are left alone.
func (m *mcpServer) setRecord(id, status string, b *billingView, errText string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if status == "completed" || status == "failed" {
		delete(m.pending, id)
	}
	for _, rec := range m.recent {
		if rec.RequestID == id {
			rec.Status, rec.Error = status, errText
			if b != nil {
				rec.Billing = b
			}
		}
	}
}

// listRequests is the list_requests tool.
func (m *mcpServer) listRequests(ctx context.Context, _ *mcp.CallToolRequest, in listIn) (*mcp.CallToolResult, error) {
	m.mu.Lock()
	mine := make([]mcpRecord, 0, len(m.recent))
	for i := len(m.recent) - 1; i >= 0; i-- {
		mine = append(mine, *m.recent[i])
	}
	m.mu.Unlock()
	out := map[string]any{"this_server": mine, "cap": m.budget.view()}
	if in.App == "" {
		return textResult(out)
	}
	if err := checkApp(in.App); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = defaultRequestsLimit
	}
	limit = min(limit, platform.MaxRequestsLimit)
	history, err := m.s.requestHistory(ctx, platform.RequestsParams{EndpointID: in.App}, limit)
	if err != nil {
		out["history_error"] = oneLine(err.Error())
	}
	out["history"] = history
	return textResult(out)
}

// uploadFile is the upload_file tool.
func (m *mcpServer) uploadFile(ctx context.Context, _ *mcp.CallToolRequest, in uploadIn) (*mcp.CallToolResult, error) {
	f, name, err := m.openUpload(in.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var opts []fal.RequestOption
	if n := plainName(filepath.Base(name)); n != "" {
		opts = append(opts, fal.WithFileName(n))
	}
	u, err := m.cl.Upload(ctx, f, opts...)
	if err != nil {
		return nil, fmt.Errorf("uploading %s: %w", name, err)
	}
	return textResult(map[string]any{"file": name, "url": u})
}

// openUpload opens a file for upload_file: a regular file under
// --upload-dir, reached without leaving it (symbolic links included), with
// no hidden file or directory on the way (.env, .ssh, .git hold secrets).
func (m *mcpServer) openUpload(p string) (*os.File, string, error) {
	if m.o.uploadDir == "" {
		return nil, "", errors.New("upload_file is off: this server was started without --upload-dir")
	}
	rootDir, err := filepath.Abs(m.o.uploadDir)
	if err != nil {
		return nil, "", err
	}
	rel := filepath.Clean(p)
	if filepath.IsAbs(rel) {
		if rel, err = filepath.Rel(rootDir, rel); err != nil {
			rel = ".."
		}
	}
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return nil, "", fmt.Errorf("%s is outside the upload directory %s; only files under it can be uploaded", p, rootDir)
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.HasPrefix(part, ".") && part != "." {
			return nil, "", fmt.Errorf("%s is or is inside a hidden file or directory, which upload_file does not read", p)
		}
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, "", err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("file %s does not exist under %s", rel, rootDir)
		}
		return nil, "", fmt.Errorf("%s cannot be opened within the upload directory: %s", p, oneLine(err.Error()))
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, "", fmt.Errorf("%s is not a regular file", p)
	}
	return f, filepath.Join(rootDir, rel), nil
}
