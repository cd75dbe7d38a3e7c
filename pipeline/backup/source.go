package backup

import (
	"io"
	"os"

	"github.com/apache/arrow-go/v18/parquet"
)

// A backup is proven where it is: a local file (localFile), or a file kept
// elsewhere (Stored: an object in a bucket), read by ranges for its first
// line and its Parquet footer and chunks, and as one stream for its CSV
// rows, so that proving a large backup never needs a local copy of it.

// source is a file whose proof CheckInput and CheckStored check.
type source interface {
	// name is the file's name in messages; its check file is
	// checkOf(name).
	name() string
	size() (int64, error)
	// open streams the file from its start.
	open() (io.ReadCloser, error)
	// readerAt reads the file by ranges; the closer releases it.
	readerAt() (parquet.ReaderAtSeeker, io.Closer, error)
	// check is the bytes of the check file, or an error matching
	// fs.ErrNotExist when there is none.
	check() ([]byte, error)
}

// localFile is a file on the local disk, by its path.
type localFile string

func (f localFile) name() string                 { return string(f) }
func (f localFile) open() (io.ReadCloser, error) { return os.Open(string(f)) }
func (f localFile) check() ([]byte, error)       { return os.ReadFile(checkOf(string(f))) }

func (f localFile) size() (int64, error) {
	st, err := os.Stat(string(f))
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (f localFile) readerAt() (parquet.ReaderAtSeeker, io.Closer, error) {
	fh, err := os.Open(string(f))
	if err != nil {
		return nil, nil, err
	}
	return fh, fh, nil
}

// Stored is a file kept elsewhere than on the local disk (an object in a
// bucket) as CheckStored reads it. Every read must be of one version of
// the file, the one Size describes: a file replaced meanwhile is an error
// of At or Open, never a mix of two.
type Stored struct {
	// Name names it in messages (an object's URL); its check file is the
	// file Name+".check".
	Name string
	// Size is its length in bytes.
	Size int64
	// At reads its bytes by ranges.
	At io.ReaderAt
	// Open streams its bytes from the start.
	Open func() (io.ReadCloser, error)
	// Check returns the bytes of its check file, or an error matching
	// fs.ErrNotExist when there is none.
	Check func() ([]byte, error)
}

// CheckStored is CheckInput for a file kept elsewhere than on the local
// disk: nil when it does not claim to be a markimport backup or proves
// itself against its check file (CSV) or its metadata (Parquet), else a
// *ProofError naming s.Name.
func CheckStored(s Stored, parquet bool) error {
	return checkInput(stored(s), parquet)
}

// stored is a Stored as a source.
type stored Stored

func (s stored) name() string                 { return s.Name }
func (s stored) size() (int64, error)         { return s.Size, nil }
func (s stored) open() (io.ReadCloser, error) { return s.Open() }
func (s stored) check() ([]byte, error)       { return s.Check() }

func (s stored) readerAt() (parquet.ReaderAtSeeker, io.Closer, error) {
	return io.NewSectionReader(s.At, 0, s.Size), io.NopCloser(nil), nil
}
