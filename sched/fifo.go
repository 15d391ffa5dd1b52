package sched

// fifo is an unbounded first-in, first-out list: the queue of an Inbox, a
// Queue and the virtual scheduler's runnables. Its zero value is empty; its
// owner locks it.
type fifo[T any] struct {
	items []T
	head  int
}

func (f *fifo[T]) push(v T) { f.items = append(f.items, v) }

func (f *fifo[T]) len() int { return len(f.items) - f.head }

// pop removes and returns the oldest item, if any.
func (f *fifo[T]) pop() (T, bool) {
	var zero T
	if f.head == len(f.items) {
		return zero, false
	}
	v := f.items[f.head]
	f.items[f.head] = zero // let the garbage collector have it
	f.head++
	if f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	}
	return v, true
}

// drop empties the list and lets go of its memory.
func (f *fifo[T]) drop() {
	clear(f.items)
	f.items, f.head = nil, 0
}
