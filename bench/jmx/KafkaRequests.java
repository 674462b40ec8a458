// The broker's request and traffic counters, read over JMX from a local Kafka JVM (bench.kafka_requests).
//
//     java bench/jmx/KafkaRequests.java <broker pid>
//
// Attaches to the broker (the JDK's attach API: same user, no port of ours), starts its local management agent
// (a second run reuses it) and prints one "name<TAB>count" line per counter: every request type's cumulative
// `kafka.network:type=RequestMetrics,name=RequestsPerSec` count (summed over API versions) and the broker's
// records and bytes in and out. The embedded broker runs with no JMX port; nothing in it changes for this.
import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class KafkaRequests {
    public static void main(String[] args) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        String address;
        try {
            address = vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            Map<String, Long> counts = new TreeMap<>();
            ObjectName requests = new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
            for (ObjectName name : server.queryNames(requests, null)) {
                long count = ((Number) server.getAttribute(name, "Count")).longValue();
                counts.merge("request " + name.getKeyProperty("request"), count, Long::sum);
            }
            for (String metric : new String[] {"MessagesInPerSec", "BytesInPerSec", "BytesOutPerSec"}) {
                ObjectName name = new ObjectName("kafka.server:type=BrokerTopicMetrics,name=" + metric);
                counts.put(metric, ((Number) server.getAttribute(name, "Count")).longValue());
            }
            counts.forEach((name, count) -> System.out.println(name + "\t" + count));
        }
    }
}
