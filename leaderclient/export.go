package leaderclient

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Dataset is an exportable dataset of GET /api/datasets/exportable.
type Dataset struct {
	Name        string `json:"dataset_name"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	Table       string `json:"table,omitempty"`
}

// Datasets lists the datasets the leader exports.
func (c *Client) Datasets(ctx context.Context) ([]Dataset, error) {
	var ds []Dataset
	_, err := c.call(ctx, "GET", "/api/datasets/exportable", nil, &ds)
	return ds, err
}

// Export copies dataset of exp as CSV to w, as the leader streams it:
// GET /api/experiments/<exp>/export/<dataset>.csv. Between two reads of the
// stream at most Timeout passes. It returns the bytes written.
func (c *Client) Export(ctx context.Context, exp, dataset string, w io.Writer) (int64, error) {
	p := "/api/experiments/" + esc(exp) + "/export/" + esc(dataset) + ".csv"
	x, err := c.send(ctx, "GET", p, nil)
	if err != nil {
		return 0, err
	}
	defer x.done()
	resp := x.resp
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return 0, DecodeError(c.URL(), "GET "+p, resp.StatusCode, b)
	}
	var n int64
	buf := make([]byte, 32<<10)
	for {
		x.timer.Reset(c.o.Timeout) // the stream may be long; a pause may not
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if _, err := w.Write(buf[:k]); err != nil {
				return n, fmt.Errorf("writing %s.csv: %w", dataset, err)
			}
			n += int64(k)
		}
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			return n, c.netError(x.ctx, "GET", p, rerr)
		}
	}
}
