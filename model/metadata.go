package model

import (
	"encoding/json"
	"fmt"
)

// MetadataFile is the name of the metadata file in a PoST data directory.
const MetadataFile = "postdata_metadata.json"

// PostMetadata is a PoST data directory's postdata_metadata.json.
type PostMetadata struct {
	NodeID          []byte  `json:"NodeId"`
	CommitmentAtxID []byte  `json:"CommitmentAtxId"`
	LabelsPerUnit   uint64  `json:"LabelsPerUnit"`
	NumUnits        uint32  `json:"NumUnits"`
	MaxFileSize     uint64  `json:"MaxFileSize"`
	Nonce           *uint64 `json:"Nonce,omitempty"`
	NonceValue      string  `json:"NonceValue,omitempty"`
	LastPosition    *uint64 `json:"LastPosition,omitempty"`
}

// LabelSize is the size of one PoST label in bytes.
const LabelSize = 16

// ParseMetadata decodes postdata_metadata.json and checks the fields the
// dashboard relies on, naming the field that is wrong.
func ParseMetadata(b []byte) (PostMetadata, error) {
	var m PostMetadata
	if err := json.Unmarshal(b, &m); err != nil {
		return PostMetadata{}, fmt.Errorf("not valid metadata JSON: %v", err)
	}
	switch {
	case len(m.NodeID) != 32:
		return PostMetadata{}, fmt.Errorf("NodeId must be 32 bytes (base64), got %d", len(m.NodeID))
	case m.LabelsPerUnit == 0:
		return PostMetadata{}, fmt.Errorf("LabelsPerUnit is missing or 0")
	case m.NumUnits == 0:
		return PostMetadata{}, fmt.Errorf("NumUnits is missing or 0")
	}
	return m, nil
}

// PassBytes is how many bytes one proving pass reads: all labels of the data.
func (m PostMetadata) PassBytes() uint64 {
	return uint64(m.NumUnits) * m.LabelsPerUnit * LabelSize
}
