package script

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDescribe: no source makes Describe panic, and every description it
// returns encodes as JSON (what a UI reads).
func FuzzDescribe(f *testing.F) {
	files, _ := filepath.Glob("testdata/check/*.star")
	for _, p := range files {
		src, _ := os.ReadFile(p)
		f.Add(src)
	}
	f.Add([]byte("api_version = 1\nmetadata = {\"name\": \"x\", 1: 2}\nrequires = {\"i2c\": [16, \"3:0x10\", \"x\"]}\n"))
	f.Add([]byte("settings = {\"v\": {\"default\": 1e300 * 1e300}, \"w\": {\"choices\": [True], \"type\": \"bool\"}}\nsettings[\"x\"] = -0.0\n"))
	f.Add([]byte("job_name = \"j\"\nsettings = {\"interval\": {\"default\": 5, \"min\": 1, \"max\": 0}, 3: 4, \"s\": \"x\" * 10}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := Describe("fuzz.star", src)
		if err != nil {
			return
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("the description does not encode as JSON: %v\n%+v", err, d)
		}
	})
}
