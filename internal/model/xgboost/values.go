package xgboost

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The accessors below read the decoded file, whichever of JSON (json.Number, string, bool,
// []any, map[string]any) or UBJSON (int64, float32, float64 and typed slices as well) it came
// from. Numbers may be strings, as XGBoost writes its parameters. path names the value in
// errors.

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func asObject(v any, path string) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is %s, want an object", path, kindOf(v))
	}
	return obj, nil
}

func objectField(obj map[string]any, key, path string) (map[string]any, error) {
	v, ok := obj[key]
	if !ok {
		return nil, fmt.Errorf("%s is missing", join(path, key))
	}
	return asObject(v, join(path, key))
}

func stringField(obj map[string]any, key, path string) (string, error) {
	v, ok := obj[key]
	if !ok {
		return "", fmt.Errorf("%s is missing", join(path, key))
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is %s, want a string", join(path, key), kindOf(v))
	}
	return s, nil
}

func intField(obj map[string]any, key, path string) (int64, error) {
	v, ok := obj[key]
	if !ok {
		return 0, fmt.Errorf("%s is missing", join(path, key))
	}
	return asInt(v, join(path, key))
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any, []int64, []float32, []float64:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

func asInt(v any, path string) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float32:
		return floatToInt(float64(x), path)
	case float64:
		return floatToInt(x, path)
	case json.Number:
		return parseInt(string(x), path)
	case string:
		return parseInt(strings.TrimSpace(x), path)
	}
	return 0, fmt.Errorf("%s is %s, want an integer", path, kindOf(v))
}

func parseInt(s, path string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is %q, want an integer", path, s)
	}
	return floatToInt(f, path)
}

func floatToInt(f float64, path string) (int64, error) {
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("%s is %v, want an integer", path, f)
	}
	return int64(f), nil
}

// asFloat32 reads a number as XGBoost stores it, a float32: decimal strings are rounded to
// float32 once, from their digits.
func asFloat32(v any, path string) (float32, error) {
	var f float32
	switch x := v.(type) {
	case float32:
		f = x
	case float64:
		f = float32(x)
	case int64:
		f = float32(x)
	case json.Number:
		return parseFloat32(string(x), path)
	case string:
		return parseFloat32(strings.TrimSpace(x), path)
	default:
		return 0, fmt.Errorf("%s is %s, want a number", path, kindOf(v))
	}
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return 0, fmt.Errorf("%s is %v, want a finite number", path, f)
	}
	return f, nil
}

func parseFloat32(s, path string) (float32, error) {
	f, err := strconv.ParseFloat(s, 32)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is %q, want a finite number", path, s)
	}
	return float32(f), nil
}

func asInts(v any, path string) ([]int64, error) {
	switch x := v.(type) {
	case []int64:
		return x, nil
	case []any:
		out := make([]int64, len(x))
		for i, e := range x {
			n, err := asInt(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case []float32, []float64:
		fs, err := asFloat32s(v, path)
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(fs))
		for i, f := range fs {
			if out[i], err = floatToInt(float64(f), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is %s, want an array of integers", path, kindOf(v))
}

func asFloat32s(v any, path string) ([]float32, error) {
	switch x := v.(type) {
	case []float32:
		for i, f := range x {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return nil, fmt.Errorf("%s[%d] is %v, want a finite number", path, i, f)
			}
		}
		return x, nil
	case []float64:
		out := make([]float32, len(x))
		for i, f := range x {
			g, err := asFloat32(f, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case []int64:
		out := make([]float32, len(x))
		for i, n := range x {
			out[i] = float32(n)
		}
		return out, nil
	case []any:
		out := make([]float32, len(x))
		for i, e := range x {
			f, err := asFloat32(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = f
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is %s, want an array of numbers", path, kindOf(v))
}

func asStrings(v any, path string) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is %s, want an array of strings", path, kindOf(v))
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d] is %s, want a string", path, i, kindOf(e))
		}
		out[i] = s
	}
	return out, nil
}
