// Adds or removes Kafka ACLs with the Admin API (run as a single-file source program:
// `java -cp 'libs/*' Acls.java add|remove CONFIG PRINCIPAL TYPE:NAME:OP[,OP...] ...`;
// `ready CONFIG` exits 0 once the cluster answers with a broker, 1 after 60 s).
// Kafka's kafka-acls tool lives in the kafka-tools jar the local broker does not need;
// the client jar it has is enough for this. TYPE is topic|group|cluster, NAME a literal
// resource name (a trailing * makes it a prefix), OP an AclOperation (READ, WRITE, ...).
import java.io.FileInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class Acls {
  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("ready")) {
      Properties props = new Properties();
      try (FileInputStream in = new FileInputStream(args[1])) { props.load(in); }
      props.put("default.api.timeout.ms", "3000");
      props.put("request.timeout.ms", "3000");
      long deadline = System.currentTimeMillis() + 60_000;
      try (Admin admin = Admin.create(props)) {
        while (System.currentTimeMillis() < deadline) {
          try {
            if (!admin.describeCluster().nodes().get().isEmpty()) System.exit(0);
          } catch (Exception e) {
            Thread.sleep(300);
          }
        }
      }
      System.exit(1);
    }
    if (args.length < 4) {
      System.err.println("usage: Acls add|remove CONFIG PRINCIPAL TYPE:NAME:OP[,OP...] ...");
      System.exit(2);
    }
    Properties props = new Properties();
    try (FileInputStream in = new FileInputStream(args[1])) { props.load(in); }
    List<AclBinding> bindings = new ArrayList<>();
    for (int i = 3; i < args.length; i++) {
      String[] parts = args[i].split(":", 3);
      ResourceType type = ResourceType.fromString(parts[0].toUpperCase());
      String name = parts[1];
      PatternType pattern = PatternType.LITERAL;
      if (name.endsWith("*") && name.length() > 1) {
        pattern = PatternType.PREFIXED; name = name.substring(0, name.length() - 1);
      }
      for (String op : parts[2].split(",")) {
        bindings.add(new AclBinding(new ResourcePattern(type, name, pattern),
            new AccessControlEntry(args[2], "*", AclOperation.fromString(op),
                                   AclPermissionType.ALLOW)));
      }
    }
    try (Admin admin = Admin.create(props)) {
      if (args[0].equals("add")) {
        admin.createAcls(bindings).all().get();
      } else {
        List<org.apache.kafka.common.acl.AclBindingFilter> filters = new ArrayList<>();
        for (AclBinding b : bindings) filters.add(b.toFilter());
        admin.deleteAcls(filters).all().get();
      }
    }
    System.out.println(args[0] + " " + bindings.size() + " ACLs for " + args[2]);
  }
}
