package detect

import (
	"strings"
	"unicode/utf8"
)

// fold returns s in the form a lenient decoder or browser would read it, for the rules to match:
// %uXXXX, \uXXXX and \xXX escapes and HTML character references decoded; overlong UTF-8 forms of
// ASCII (%c0%ae, %e0%80%af ...) turned into the ASCII they encode and other invalid bytes
// dropped (old decoders skipped them: %c0%2e is a dot); full-width forms (．／＜) and typographic
// quotes (’‘“”), slashes (∕⁄∖) and dots turned into ASCII; NUL and other control characters but
// tab, CR and LF dropped; the two CJK characters whose low byte is CR or LF (嘍嘊), which some
// servers truncate into a header break, turned into CR and LF. It reports whether anything
// changed, and allocates only then.
//
// A small table rather than NFKC: it folds exactly what evasions use, costs one pass, and never
// turns letters of other scripts into look-alikes that a rule could match by accident.
func fold(s string) (string, bool) {
	if !needsFold(s) {
		return s, false
	}
	b := make([]byte, 0, len(s))
	changed := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '%' && i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') && isHex4(s[i+2:i+6]):
			b = appendFoldRune(b, rune(hex4(s[i+2:i+6])))
			i += 6
			changed = true
		case c == '\\' && i+5 < len(s) && s[i+1] == 'u' && isHex4(s[i+2:i+6]):
			b = appendFoldRune(b, rune(hex4(s[i+2:i+6])))
			i += 6
			changed = true
		case c == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]):
			b = appendFoldRune(b, rune(unhex(s[i+2])<<4|unhex(s[i+3])))
			i += 4
			changed = true
		case c == '&' && i+2 < len(s):
			if r, n := parseEntity(s[i+1:]); n > 0 {
				b = appendFoldRune(b, r)
				i += 1 + n
				changed = true
				continue
			}
			b = append(b, c)
			i++
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
			i++
			changed = true
		case c < 0x80:
			b = append(b, c)
			i++
		default:
			if a, n := overlongASCII(s[i:]); n > 0 {
				b = appendFoldRune(b, rune(a))
				i += n
				changed = true
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				i++ // an invalid byte: dropped
				changed = true
				continue
			}
			if f, ok := foldRune(r); ok {
				b = appendRuneOrNothing(b, f)
				changed = true
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	if !changed {
		return s, false
	}
	return string(b), true
}

// needsFold reports whether fold would change s, without allocating.
func needsFold(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
			return true
		case (c == '%' || c == '\\') && i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') && isHex4(s[i+2:i+6]):
			return true
		case c == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]):
			return true
		case c == '&' && i+2 < len(s):
			if _, n := parseEntity(s[i+1:]); n > 0 {
				return true
			}
		case c >= 0x80:
			if _, n := overlongASCII(s[i:]); n > 0 {
				return true
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return true
			}
			if _, ok := foldRune(r); ok {
				return true
			}
			i += n
			continue
		}
		i++
	}
	return false
}

// noRune is what foldRune returns for a character that is dropped.
const noRune = -1

// foldRune maps a character that evasions use for an ASCII one to it (or to noRune, for the
// invisible ones dropped).
func foldRune(r rune) (rune, bool) {
	switch {
	case 0xff01 <= r && r <= 0xff5e: // full-width ASCII
		return r - 0xfee0, true
	case 0xfe50 <= r && r <= 0xfe6b && smallForms[r-0xfe50] != 0: // small form variants
		return rune(smallForms[r-0xfe50]), true
	case r == 0x3000, r == 0x00a0, 0x2000 <= r && r <= 0x200a, r == 0x202f, r == 0x205f:
		return ' ', true
	case 0x200b <= r && r <= 0x200d, r == 0x2060, r == 0xfeff, r == 0x00ad:
		return noRune, true
	}
	switch r {
	case 0x2018, 0x2019, 0x201a, 0x201b, 0x2032, 0x2035, 0x02bc, 0x02b9, 0x02bb, 0x00b4:
		return '\'', true // and the acute accent and modifier letters used as apostrophes
	case 0x201c, 0x201d, 0x201e, 0x201f, 0x2033, 0x2036:
		return '"', true
	case 0x2215, 0x2044, 0x29f8, 0xefc8:
		return '/', true // 0xefc8 and 0xf025: what old IIS read as / and \
	case 0x2216, 0x29f9, 0xf025:
		return '\\', true
	case 0x2024:
		return '.', true
	case 0x2028, 0x2029:
		return '\n', true
	case 0x560a: // 嘊: its low byte is LF
		return '\n', true
	case 0x560d: // 嘍: its low byte is CR
		return '\r', true
	}
	return r, false
}

// smallForms are the ASCII characters of the small form variants U+FE50 to U+FE6B (﹤﹥﹙﹚﹔﹦),
// as NFKC folds them; 0 where the block has no character.
var smallForms = [...]byte{
	',', 0, '.', 0, ';', ':', '?', '!', 0, '(', ')', '{', '}', 0, 0, '#',
	'&', '*', '+', '-', '<', '>', '=', 0, '\\', '$', '%', '@',
}

// appendFoldRune appends r, folded, to b; control characters other than tab, CR and LF are
// dropped, as fold drops them.
func appendFoldRune(b []byte, r rune) []byte {
	if f, ok := foldRune(r); ok {
		r = f
	}
	if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
		return b
	}
	return appendRuneOrNothing(b, r)
}

func appendRuneOrNothing(b []byte, r rune) []byte {
	if r == noRune {
		return b
	}
	if r < utf8.RuneSelf {
		return append(b, byte(r))
	}
	return utf8.AppendRune(b, r)
}

// overlongASCII decodes an overlong UTF-8 form of an ASCII character at the start of s (two,
// three or four bytes where one would do), returning it and its width, or 0 bytes.
func overlongASCII(s string) (byte, int) {
	cont := func(i int) bool { return i < len(s) && s[i]&0xc0 == 0x80 }
	switch {
	case (s[0] == 0xc0 || s[0] == 0xc1) && cont(1):
		return (s[0]&0x1f)<<6 | s[1]&0x3f, 2
	case s[0] == 0xe0 && cont(1) && s[1] < 0x82 && cont(2):
		return (s[1]&0x3f)<<6 | s[2]&0x3f, 3
	case s[0] == 0xf0 && cont(1) && s[1] == 0x80 && cont(2) && s[2] < 0x82 && cont(3):
		return (s[2]&0x3f)<<6 | s[3]&0x3f, 4
	}
	return 0, 0
}

func isHex4(s string) bool {
	return len(s) >= 4 && isHex(s[0]) && isHex(s[1]) && isHex(s[2]) && isHex(s[3])
}

func hex4(s string) int {
	return int(unhex(s[0]))<<12 | int(unhex(s[1]))<<8 | int(unhex(s[2]))<<4 | int(unhex(s[3]))
}

// htmlEntities are the named character references that evasions use: the markup and URL
// characters, and the white space that browsers drop inside a URL scheme.
var htmlEntities = map[string]rune{
	"lt": '<', "gt": '>', "quot": '"', "apos": '\'', "amp": '&', "sol": '/', "bsol": '\\',
	"colon": ':', "semi": ';', "lpar": '(', "rpar": ')', "equals": '=', "period": '.',
	"excl": '!', "num": '#', "percnt": '%', "grave": '`', "vert": '|', "verbar": '|',
	"tab": '\t', "newline": '\n', "lsqb": '[', "rsqb": ']', "lcub": '{', "rcub": '}',
	"comma": ',', "plus": '+', "dollar": '$', "ast": '*', "nbsp": ' ',
	"lsquo": '\'', "rsquo": '\'', "ldquo": '"', "rdquo": '"',
}

// parseEntity parses a character reference after '&': "#65;", "#x41", "lt;" and the like (the
// ';' optional for numeric ones, as browsers read them). It returns the character and the bytes
// consumed (0: none).
func parseEntity(s string) (rune, int) {
	if s[0] == '#' {
		v, n := parseCharRef(s[1:])
		if n == 0 || v > utf8.MaxRune {
			return 0, 0
		}
		return rune(v), 1 + n
	}
	end := 0
	for end < len(s) && end < 10 && isAlnumByte(s[end]) {
		end++
	}
	if end == 0 || end == len(s) || s[end] != ';' {
		return 0, 0
	}
	name := s[:end]
	if r, ok := htmlEntities[name]; ok {
		return r, end + 1
	}
	if r, ok := htmlEntities[strings.ToLower(name)]; ok {
		return r, end + 1
	}
	return 0, 0
}
