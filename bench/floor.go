package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// floor is the loopback floor: the requests falgo makes, written by hand
// with net/http and nothing else — no retries, no validation, no per-call
// timeout, no status-stream fallback. It is what a careful hand-written
// client costs, which falgo is measured against.
type floor struct {
	env  serverEnv
	auth string
	hc   *http.Client
}

func newFloor(env serverEnv, h2c bool) *floor {
	// A transport tuned like falgo's default (64 idle connections per host):
	// net/http's default keeps only 2, which at concurrency 64 would measure
	// connection churn instead of the client.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.MaxIdleConns = 256
	if h2c {
		// HTTP/2 without TLS, with prior knowledge: what falgo's
		// WithHTTP2Cleartext does.
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		tr.Protocols = p
	}
	return &floor{env: env, auth: "Key " + env.key, hc: &http.Client{Transport: tr}}
}

// header sets the headers falgo sends on a JSON request.
func (f *floor) header(req *http.Request, withBody bool) {
	req.Header.Set("Authorization", f.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "bench-floor")
	if withBody {
		req.Header.Set("Content-Type", "application/json")
	}
}

// call makes one request and returns the whole 2xx body.
func (f *floor) call(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	f.header(req, body != nil)
	res, err := f.hc.Do(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	return data, httpOK(res, data)
}

// run is a sync run: the input encoded as JSON, POSTed, the output read.
func (f *floor) run(ctx context.Context, input any) error {
	body, err := json.Marshal(input)
	if err != nil {
		return err
	}
	_, err = f.call(ctx, http.MethodPost, f.env.run+"/"+echoApp, body)
	return err
}

// subscribe submits to the queue, follows the status stream until
// COMPLETED and fetches the result.
func (f *floor) subscribe(ctx context.Context, input any, onEnqueue func(string), onWaiting func()) (string, error) {
	body, err := json.Marshal(input)
	if err != nil {
		return "", err
	}
	data, err := f.call(ctx, http.MethodPost, f.env.queue+"/"+echoApp, body)
	if err != nil {
		return "", err
	}
	var sub struct {
		RequestID   string `json:"request_id"`
		StatusURL   string `json:"status_url"`
		ResponseURL string `json:"response_url"`
	}
	if err := json.Unmarshal(data, &sub); err != nil {
		return "", err
	}
	onEnqueue(sub.RequestID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sub.StatusURL+"/stream?logs=0", nil)
	if err != nil {
		return "", err
	}
	f.header(req, false)
	res, err := f.hc.Do(req)
	if err != nil {
		return "", err
	}
	onWaiting()
	completed, err := readUntilCompleted(res.Body)
	res.Body.Close()
	if err != nil {
		return "", err
	}
	if !completed {
		return "", fmt.Errorf("status stream of %s ended before COMPLETED", sub.RequestID)
	}
	if _, err := f.call(ctx, http.MethodGet, sub.ResponseURL, nil); err != nil {
		return "", err
	}
	return sub.RequestID, nil
}

// completedMarker is how a COMPLETED status appears in a status event.
var completedMarker = []byte(`"status":"COMPLETED"`)

// readUntilCompleted reads status-stream lines until a data line reports
// COMPLETED. It reports false if the stream ends first.
func readUntilCompleted(r io.Reader) (bool, error) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadSlice('\n')
		if bytes.HasPrefix(line, []byte("data:")) && bytes.Contains(line, completedMarker) {
			return true, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) { // an overlong line: skip the rest of it
				_, err = br.ReadSlice('\n')
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// upload stores the file the plain way: ask the REST storage for a signed
// URL, then PUT all the bytes to it in one request.
func (f *floor) upload(ctx context.Context, file io.Reader, size int64) (string, error) {
	data, err := f.call(ctx, http.MethodPost, f.env.rest+"/storage/upload/initiate?storage_type=fal-cdn-v3",
		[]byte(`{"content_type":"application/octet-stream","file_name":"payload.bin"}`))
	if err != nil {
		return "", err
	}
	var ini struct {
		UploadURL string `json:"upload_url"`
		FileURL   string `json:"file_url"`
	}
	if err := json.Unmarshal(data, &ini); err != nil {
		return "", err
	}
	if !strings.HasPrefix(ini.UploadURL, "http") {
		return "", fmt.Errorf("initiate answered no upload_url: %.200s", data)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, ini.UploadURL, file)
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := f.hc.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := httpOK(res, body); err != nil {
		return "", err
	}
	return ini.FileURL, nil
}
