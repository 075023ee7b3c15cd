package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// jsonTime reads the times of fal's answers tolerantly: fal documents
// ISO 8601 ("2025-01-01T00:00:05Z", buckets with an offset
// "2025-01-15T00:00:00-05:00") but does not pin the exact form down, so
// RFC 3339 with or without fractional seconds, the same without a zone
// (taken as UTC) or with a space for the T, a bare date, and a number of
// Unix seconds are all accepted; null and "" are the zero time. It writes
// RFC 3339, and null for the zero time.
type jsonTime time.Time

// timeLayouts are tried in order for a time string.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*t = jsonTime{}
		return nil
	}
	if len(b) > 0 && b[0] != '"' {
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
			return fmt.Errorf("time %s is neither a time string nor a number of Unix seconds", b)
		}
		sec, frac := math.Modf(f)
		*t = jsonTime(time.Unix(int64(sec), int64(frac*1e9)).UTC())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseTime(s)
	if err != nil {
		return err
	}
	*t = jsonTime(v)
	return nil
}

func (t jsonTime) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(time.Time(t).Format(time.RFC3339Nano))
}

// parseTime parses one of the forms jsonTime accepts.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			return v, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is in none of the forms fal is known to use (ISO 8601 date or date-time)", s)
}
