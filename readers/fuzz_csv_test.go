package readers

import (
	"bytes"
	"io"
	"testing"
)

// FuzzCSV: any bytes either fail as a whole file (an *InputError) or yield
// records numbered 1, 2, 3... without panicking.
func FuzzCSV(f *testing.F) {
	f.Add([]byte("from_account,to_account,set_mark\nu,p,1\n"))
	f.Add([]byte("\ufeffFrom_Account;To-Account\n\"u\n\";\"p,\"\"q\"\"\"\n"))
	f.Add([]byte("from_account,custom_mark\nu,\"unterminated\n"))
	f.Add([]byte("from_account,x\nu\nv,1,2\n\"a\"b,c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, delim := range []rune{',', ';'} {
			r, err := newCSVReader("fuzz.csv", bytes.NewReader(data), nil, Options{Delimiter: delim})
			if err != nil {
				if _, ok := err.(*InputError); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			want := int64(1)
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					if _, ok := err.(*InputError); !ok {
						t.Fatalf("error of type %T: %v", err, err)
					}
					break
				}
				if rec.Row != want {
					t.Fatalf("row %d, want %d", rec.Row, want)
				}
				want++
			}
		}
	})
}
