# The benchmarks' generated files, sourced by bench.sh and pgo.sh. The
# caller sets MARKGEN (the markgen binary) and defines log() and die().
#
#   generate PATH ARGS...   markgen ARGS into PATH, unless a complete one is
#                           there (PATH.done is made once it is): an
#                           interrupted run leaves no file that looks whole

generate() {
	local path=$1
	shift
	if [[ -s $path && -e $path.done ]]; then
		log "reusing $path"
		return
	fi
	log "generating $path ($*)"
	rm -f "$path" "$path.done" "$path.tmp.${path##*.}"
	"$MARKGEN" "$@" -o "$path.tmp.${path##*.}" || die "markgen $* failed"
	mv "$path.tmp.${path##*.}" "$path"
	touch "$path.done"
}
