module meshctl.io/bench/destination-fanout

go 1.21
