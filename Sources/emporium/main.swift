print("emporium")
