package alerts

import (
	"fmt"
	"testing"
)

func TestQueueDropsOldest(t *testing.T) {
	q := newQueue(4)
	var drops int
	for i := range 10 {
		if _, dropped := q.push(Event{Text: fmt.Sprint(i)}); dropped {
			drops++
		}
	}
	if drops != 6 {
		t.Errorf("got %d drops, want 6", drops)
	}
	var got []string
	for e, ok := q.pop(); ok; e, ok = q.pop() {
		got = append(got, e.Text)
	}
	if fmt.Sprint(got) != "[6 7 8 9]" {
		t.Errorf("got %v, want the newest four [6 7 8 9]", got)
	}
	q.close()
	if ok, _ := q.push(Event{}); ok || !q.done() {
		t.Errorf("closed queue took an event or is not done")
	}
}
