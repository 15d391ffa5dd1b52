package stdlib

import (
	"io/fs"
	"testing"

	"github.com/piolab/pio/script"
)

func TestEveryLibraryScriptLoads(t *testing.T) {
	files, _ := fs.Glob(FS, "*.star")
	if len(files) == 0 {
		t.Fatal("empty library")
	}
	for _, f := range files {
		src, _ := fs.ReadFile(FS, f)
		if _, err := script.Load(f, src, "u", "e"); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
