package detect

import (
	"bytes"
	"strings"
)

// scannerVocabulary are stems of the vocabulary attack tools name themselves with: a
// User-Agent product such as "CrimScanner", "WebVulnScan", "XmlRpcExploit" or
// "WPBruteForcer" names a tool that scans, fuzzes, brute-forces, injects or exploits.
// Browsers, generic HTTP clients and search-engine crawlers use none of these stems in their
// product tokens.
var scannerVocabulary = [...][]byte{
	[]byte("scan"), []byte("fuzz"), []byte("brute"), []byte("exploit"), []byte("sploit"),
	[]byte("inject"), []byte("sqli"), []byte("xss"), []byte("pentest"), []byte("vuln"),
	[]byte("attack"), []byte("hacktool"), []byte("hack"), []byte("crack"), []byte("rooter"),
	[]byte("payload"), []byte("webshell"), []byte("backdoor"), []byte("bypass"), []byte("dirbust"),
}

// scannerSuffixes are the endings English and tool names put after a stem of
// scannerVocabulary: scanner, fuzzing, brute, exploiter, injector.
var scannerSuffixes = [...]string{
	"", "s", "es", "ed", "er", "ers", "ing", "ings", "ner", "ners", "ning", "ned", "or", "ors",
	"ion", "ions", "ive", "able", "erable", "erability", "erabilities", "erabilty", "y", "force",
	"forcer", "forcing", "z", "zer", "zing", "ation", "kit", "tool", "bot", "pro", "x", "hunter",
	"finder", "master", "framework", "suite",
}

// scannerVocabularyWord reports how the lower-case word w uses the vocabulary of attack
// tools: compound when a stem ends the word or is followed by a known ending and something
// comes before it ("crimscanner", "webvulnscan"), plain when the word is only a stem and an
// ending ("scanner", "exploits"), which is as likely English as a product name. It allocates
// nothing.
func scannerVocabularyWord(w []byte) (hit, compound bool) {
	for _, v := range scannerVocabulary {
		for off := 0; off+len(v) <= len(w); {
			k := bytes.Index(w[off:], v)
			if k < 0 {
				break
			}
			k += off
			rest := w[k+len(v):]
			if scannerSuffix(rest) || scannerStemAt(rest) {
				if k > 0 {
					return true, true
				}
				hit = true
			}
			off = k + 1
		}
	}
	return hit, false
}

func scannerSuffix(rest []byte) bool {
	for _, s := range scannerSuffixes {
		if string(rest) == s {
			return true
		}
	}
	// A version glued to the name: scanner2.
	n := len(rest)
	for n > 0 && isDigitByte(rest[n-1]) {
		n--
	}
	if n < len(rest) {
		for _, s := range scannerSuffixes {
			if string(rest[:n]) == s {
				return true
			}
		}
	}
	return false
}

// scannerStemAt reports whether rest begins with another stem ("scanvuln").
func scannerStemAt(rest []byte) bool {
	for _, v := range scannerVocabulary {
		if bytes.HasPrefix(rest, v) {
			return true
		}
	}
	return false
}

// scannerVocabularyToken reports the first User-Agent word that uses the vocabulary of attack
// tools where a product name stands (see productToken). The detector asks it after the
// injection rules, so that a payload sent as the User-Agent is reported as what it is.
func scannerVocabularyToken(ua string) (string, bool) {
	var buf [40]byte
	for i := 0; i < len(ua); {
		if !isAlnumByte(ua[i]) {
			i++
			continue
		}
		j := i
		for j < len(ua) && isAlnumByte(ua[j]) {
			j++
		}
		if j-i >= 3 && j-i <= len(buf) {
			w := buf[:j-i]
			for k := range w {
				w[k] = lowerByte(ua[i+k])
			}
			hit, compound := scannerVocabularyWord(w)
			if hit && scannerVocabularyExceptions[string(w)] {
				hit = false
			}
			if !hit && scannerNamesAmbiguous[string(w)] {
				// A tool name that is also a word: a product where a product stands, or the
				// whole value when that is the name alone ("vega", "Hydra").
				hit, compound = true, i == 0 && j == len(ua)
			}
			if hit && productToken(ua, i, j, compound) {
				return string(w), true
			}
		}
		i = j
	}
	return "", false
}

// scannerNamesAmbiguous are attack tools whose names are also English words (Ruler, Amass,
// Fierce, Katana): they count only where a product name stands.
var scannerNamesAmbiguous = map[string]bool{
	"recon": true, "ruler": true, "fierce": true, "stalker": true, "cadaver": true,
	"smuggler": true, "amass": true, "floodgate": true, "metis": true, "katana": true,
	"pangolin": true, "absinthe": true, "crowbar": true, "goby": true, "gau": true,
	"corsy": true, "medusa": true, "hydra": true, "grabber": true, "vega": true,
}

// productToken reports whether the word ua[i:j] stands where a User-Agent names a product: it
// carries a version (word/1.0), or sits inside the comment that follows a product and its
// version ("Mozilla/5.0 (compatible; Foo Scanner)"), or,
// for a compound word, it is the whole value ("WebVulnScan"). A sentence or a shop's name that
// uses the same words is not a product.
func productToken(ua string, i, j int, compound bool) bool {
	if j < len(ua) && (ua[j] == '/' || ua[j] == '-' && j+1 < len(ua) && isDigitByte(ua[j+1])) {
		return true
	}
	if open := strings.LastIndexByte(ua[:i], '('); open >= 0 && open > strings.LastIndexByte(ua[:i], ')') &&
		strings.IndexByte(ua[j:], ')') >= 0 && strings.IndexByte(ua[:open], '/') > 0 {
		return true // a comment after a product and its version: Mozilla/5.0 (compatible; ...)
	}
	// A compound word that is the whole value, a name alone ("WebVulnScan").
	return compound && !strings.ContainsAny(ua, " \t")
}

// scannerVocabularyExceptions are products whose names hold a stem of scannerVocabulary and
// that attack nothing: document-scanning apps.
var scannerVocabularyExceptions = map[string]bool{"camscanner": true, "scansnap": true}
