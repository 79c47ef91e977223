package nodeapi

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	"postdeck/model"
)

// EventFromMessage converts one spacemesh.v1.Event, read by field names: Kind
// is the name of the set details field, Smesher its smesher field, Detail a
// short summary of its other fields. garbage reports an event without
// details (kind "unknown") or without a timestamp (the receive time now is
// used); it never fails.
func EventFromMessage(m protoreflect.Message, now time.Time) (e model.Event, garbage bool) {
	e.Kind = "unknown"
	e.Failure = fieldBool(m, "failure")
	e.Help = clip(fieldString(m, "help"), maxHelp)
	if ts, ok := timestampOf(m, "timestamp"); ok {
		e.Time = ts
	} else {
		e.Time, garbage = now, true
	}
	var fd protoreflect.FieldDescriptor
	if od := m.Descriptor().Oneofs().ByName("details"); od != nil {
		fd = m.WhichOneof(od)
	}
	if fd == nil || fd.Message() == nil {
		e.Detail = "no details"
		return e, true
	}
	e.Kind = string(fd.Name())
	d := m.Get(fd).Message()
	e.Smesher = append([]byte(nil), fieldBytes(d, "smesher")...)
	if t, ok := timestampOf(d, "round_end"); ok {
		e.RoundEnd = t
	}
	ledgerFields(&e, d)
	e.Detail = clip(summarize(d), maxDetail)
	return e, garbage
}

// ledgerFields fills what the epoch ledger records from the details of
// the kinds that carry it (see model.Event).
func ledgerFields(e *model.Event, d protoreflect.Message) {
	switch e.Kind {
	case "atx_published":
		e.Epoch = uint32(fieldUint(d, "target"))
		e.ATXID = append([]byte(nil), fieldBytes(d, "id")...)
	case "eligibilities":
		e.Epoch = uint32(fieldUint(d, "epoch"))
		if l := fieldList(d, "eligibilities"); l != nil {
			e.EligibleLayers = l.Len() // one entry a layer: one reward a layer
			for i := range l.Len() {
				if m, ok := l.Get(i).Interface().(protoreflect.Message); ok {
					e.Eligibilities += int(fieldUint(m, "count"))
				}
			}
		}
	case "proposal":
		e.Layer = uint32(fieldUint(d, "layer"))
	}
}

// timestampOf reads a google.protobuf.Timestamp field; false when unset.
func timestampOf(m protoreflect.Message, name string) (time.Time, bool) {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || fd.Message() == nil || fd.IsList() || fd.IsMap() || !m.Has(fd) {
		return time.Time{}, false
	}
	ts := m.Get(fd).Message()
	secs, ok1 := field(ts, "seconds")
	nanos, ok2 := field(ts, "nanos")
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	s, _ := secs.Interface().(int64)
	n, _ := nanos.Interface().(int32)
	return time.Unix(s, int64(n)).UTC(), true
}

// summarize lists a details message's set fields in field order: numbers and
// strings as they are, bytes as a short hex prefix, times in RFC 3339,
// durations rounded, lists by their length. smesher (the row says it) and
// challenge (random) are left out.
func summarize(d protoreflect.Message) string {
	var parts []string
	fields := d.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		name := string(fd.Name())
		if name == "smesher" || name == "challenge" || !d.Has(fd) {
			continue
		}
		if s := valueText(d, fd); s != "" {
			parts = append(parts, name+" "+s)
		}
	}
	return strings.Join(parts, " ")
}

func valueText(d protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	v := d.Get(fd)
	switch {
	case fd.IsList():
		return strconv.Itoa(v.List().Len())
	case fd.IsMap():
		return strconv.Itoa(v.Map().Len())
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Timestamp":
			if t, ok := timestampOf(d, string(fd.Name())); ok {
				return t.Format(time.RFC3339)
			}
		case "google.protobuf.Duration":
			m := v.Message()
			s, _ := fieldValue[int64](m, "seconds")
			n, _ := fieldValue[int32](m, "nanos")
			return (time.Duration(s)*time.Second + time.Duration(n)).Round(time.Second).String()
		}
		return ""
	case protoreflect.BytesKind:
		b := v.Bytes()
		return hex.EncodeToString(b[:min(len(b), 4)])
	case protoreflect.StringKind:
		return clip(v.String(), 40)
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	}
	return fmt.Sprint(v.Interface())
}

func fieldValue[T any](m protoreflect.Message, name string) (T, bool) {
	v, ok := field(m, name)
	if !ok {
		var zero T
		return zero, false
	}
	x, ok := v.Interface().(T)
	return x, ok
}

// clip cuts s to at most n runes, with … when cut; invalid UTF-8 is replaced.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
