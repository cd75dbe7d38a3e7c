package report

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCSVVerifyReport(t *testing.T) {
	p := filepath.Join(t.TempDir(), "verify.csv")
	r, err := CreateCSVVerify(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Write(VerifyLine{Row: 3, From: "a", Type: "c2c", Peer: "p", Status: VerifyMismatch, Expected: `set=1,2 custom="x"`, Actual: "standard=01", Message: "m"})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	want := "row,from_account,type,peer,status,expected,actual,message\n3,a,c2c,p,mismatch,\"set=1,2 custom=\"\"x\"\"\",standard=01,m\n"
	if string(b) != want {
		t.Errorf("report\n%s\nwant\n%s", b, want)
	}
}
