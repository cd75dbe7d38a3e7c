package readers

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestTmpDebug(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.parquet")
	writeParquet(t, p, []pqColumn{{name: "From_Account", typ: arrow.PrimitiveTypes.Float64, vals: []any{1}}}, pqWrite{})
	_, err := OpenParquet(p, Options{})
	fmt.Println(err)
	writeParquet(t, p, []pqColumn{{name: "from_account", typ: arrow.BinaryTypes.String, vals: []any{"a"}}, {name: "SetMark", typ: arrow.ListOf(arrow.BinaryTypes.String), vals: []any{nil}}}, pqWrite{})
	_, err = OpenParquet(p, Options{})
	fmt.Println(err)
	os.WriteFile(p, []byte("a,b\n1,2\n"), 0o644)
	_, err = OpenParquet(p, Options{})
	fmt.Println(err)
	vals := make([]any, 1000)
	for i := range vals {
		vals[i] = fmt.Sprintf("user%d", i)
	}
	writeParquet(t, p, []pqColumn{{name: "from_account", typ: arrow.BinaryTypes.String, vals: vals}}, pqWrite{})
	data, _ := os.ReadFile(p)
	for i := 30; i < 400; i++ {
		data[i] = 0xA5
	}
	os.WriteFile(p, data, 0o644)
	r, err := OpenParquet(p, Options{})
	fmt.Println(err)
	if err == nil {
		for {
			_, err := r.Next()
			if err != nil {
				fmt.Println(err)
				break
			}
		}
	}
}
