"""Camera simulator: real RTSP and ONVIF on loopback addresses, with faults on demand."""
