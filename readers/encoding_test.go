package readers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// encode returns s in the encoding e, failing the test on a character e
// lacks.
func encode(t *testing.T, e encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

// csvOf is a CSV file of n rows whose accounts and custom marks hold the
// values of vals in turn, after the header and ascii rows of plain ASCII.
func csvOf(ascii, n int, vals []string) string {
	var b strings.Builder
	b.WriteString("from_account,to_account,set_mark,custom_mark\n")
	for i := range ascii {
		fmt.Fprintf(&b, "user%d,peer%d,1,note\n", i, i)
	}
	for i := range n {
		v := vals[i%len(vals)]
		fmt.Fprintf(&b, "user%d,peer%d,1,%s\n", i, i, v)
	}
	return b.String()
}

// TestLegacyEncodingsNamed: a CSV file in GB18030 or Shift-JIS is one
// input error that names the encoding, shows a value as it reads once
// converted, and gives the command that converts it; where its first
// non-UTF-8 bytes come before the end of the sample read at the start, a
// character cut by the sample's end included.
func TestLegacyEncodingsNamed(t *testing.T) {
	chinese := []string{"张三", "重要客户", "已读，稍后回复", "李四的群聊", "备注：明天开会"}
	japaneseVals := []string{"山田太郎", "重要なお客様", "あとで返信する", "カスタマーサポート", "明日の会議について"}
	// Rows enough that the Chinese or Japanese text runs across the end of
	// the sample, and a first non-ASCII value deep into it.
	cases := []struct {
		name      string
		enc       encoding.Encoding
		ascii     int
		vals      []string
		want      []string
		firstText string
	}{
		{"GB18030", simplifiedchinese.GB18030, 0, chinese, []string{"GB18030 (Chinese", "iconv -f GB18030 -t UTF-8"}, "张三"},
		{"GBK", simplifiedchinese.GBK, 0, chinese, []string{"GB18030 (Chinese", "iconv -f GB18030 -t UTF-8"}, "张三"},
		{"GB18030 after 60 KiB of ASCII", simplifiedchinese.GB18030, 2700, chinese, []string{"GB18030", "iconv -f GB18030"}, "张三"},
		{"Shift-JIS", japanese.ShiftJIS, 0, japaneseVals, []string{"Shift-JIS (Japanese", "iconv -f CP932 -t UTF-8"}, "山田太郎"},
		{"Shift-JIS after 60 KiB of ASCII", japanese.ShiftJIS, 2700, japaneseVals, []string{"Shift-JIS", "iconv -f CP932"}, "山田太郎"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := csvOf(tc.ascii, 5000, tc.vals)
			data := encode(t, tc.enc, text)
			if tc.ascii > 0 && bytes.IndexFunc(data, func(r rune) bool { return r >= 0x80 || r == 0xFFFD }) >= sniffBytes {
				t.Fatalf("the first non-ASCII byte is beyond the sample")
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".csv")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path, Options{})
			if err == nil {
				r.Close()
				t.Fatal("opened without an error")
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Path != path || ie.Row != 0 {
				t.Fatalf("%T %v: want a file-level *InputError naming %s", err, err, path)
			}
			msg := err.Error()
			for _, w := range append(tc.want, "not UTF-8", tc.firstText) {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if len(msg) > 500 {
				t.Errorf("message of %d bytes", len(msg))
			}
		})
	}
}

// TestLegacyEncodingsNotMisnamed: what is UTF-8, or not text of these
// encodings, is never named GB18030 or Shift-JIS: valid UTF-8 (Chinese
// and Japanese included, with a character cut by the end of the sample),
// Latin-1 and Windows-1252 text, a few stray bytes, and random binary
// after a header.
func TestLegacyEncodingsNotMisnamed(t *testing.T) {
	dir := t.TempDir()
	french := []string{"Hélène", "café crème", "à bientôt", "déjà vu", "Noël", "garçon", "élève", "même"}
	german := []string{"Müller", "Größe", "Straße", "schön", "Bär", "Köln", "Übung", "fünf"}
	// UTF-8 that straddles the end of the sample: a first line of Chinese
	// longer than the sample, cut after the first byte of a character or
	// after two (丰 is E4 B8 B0: cut after two, the bytes before read as
	// pairs of GB2312), or rows of it.
	long := func(prefix string) []byte {
		return []byte(prefix + strings.Repeat("丰", sniffBytes/3+10) + ",from_account\nx,u\n")
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"UTF-8 Chinese", []byte(csvOf(0, 5000, []string{"张三", "重要客户", "已读，稍后回复"}))},
		{"UTF-8 Japanese", []byte(csvOf(0, 5000, []string{"山田太郎", "あとで返信する"}))},
		{"UTF-8 cut by the sample after one byte", long("")},
		{"UTF-8 cut by the sample after two bytes", long("u")},
		{"UTF-8 rows cut by the sample", []byte(csvOf(0, 5000, []string{strings.Repeat("中文", 7)}))},
		{"Latin-1 French", encode(t, charmap.ISO8859_1, csvOf(0, 3000, french))},
		{"Latin-1 German", encode(t, charmap.ISO8859_1, csvOf(0, 3000, german))},
		{"Windows-1252 German, short", encode(t, charmap.Windows1252, csvOf(0, 3, german[:2]))},
		{"a stray byte", []byte("from_account,to_account,set_mark\nu\xff,p,1\nv,q,2\n")},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for seed := range 20 {
		b := []byte("from_account,to_account,set_mark\n")
		for range 2000 {
			b = append(b, byte(rng.IntN(256)))
		}
		cases = append(cases, struct {
			name string
			data []byte
		}{fmt.Sprintf("random bytes %d", seed), b})
		// Only high bytes, between ASCII letters: no control character
		// gives them away.
		b = []byte("from_account,to_account,set_mark\n")
		for range 2000 {
			if rng.IntN(2) == 0 {
				b = append(b, byte(0x80+rng.IntN(128)))
			} else {
				b = append(b, byte('a'+rng.IntN(26)))
			}
		}
		cases = append(cases, struct {
			name string
			data []byte
		}{fmt.Sprintf("random high bytes %d", seed), b})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".csv")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path, Options{})
			if err != nil {
				if strings.Contains(err.Error(), "not UTF-8") || strings.Contains(err.Error(), "iconv") {
					t.Fatalf("misnamed: %v", err)
				}
				return
			}
			defer r.Close()
			for {
				if _, err := r.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
